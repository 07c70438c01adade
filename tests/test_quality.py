"""Trust in every figure (#17 items 4 and 5): completeness of the data per unit and the sensitivity range.

Hand-worked cases check each completeness measure and the recomputation of the
figures under other choices; the default audit (Xicheng from data/) checks the
whole analysis on real data against figures computed another way.
"""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan.config import Rules, Tier, load_config
from geoplan.network import build_network
from geoplan.parks.coverage import network_cover
from geoplan.quality import (
    SensitivityRun,
    facility_supply,
    footway_share,
    grade,
    grade_units,
    landuse_mapped,
    load_settings,
    register_match,
    residential_far_from_ways,
    run_sensitivity,
)

CRS = "EPSG:32650"


def _gdf(geoms, **cols):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CRS)


# -- completeness measures, hand-worked ------------------------------------------

def test_residential_land_far_from_any_way_hand_worked():
    # a way along y = 0 far past both ends; unit 1's land is 200 m x 300 m north of it: the part
    # farther than 100 m is 200 x 200 = 40,000 m² of 60,000 (split over two cells, one cut by the line)
    cells = _gdf([shapely.box(0, 0, 200, 150), shapely.box(0, 150, 200, 300), shapely.box(1000, 500, 1100, 600)],
                 unit_id=[1, 1, 2])
    edges = _gdf([shapely.LineString([(-500, 0), (700, 0)])], highway=["residential"])
    out = residential_far_from_ways(cells, edges, 100.0).set_index("unit_id")
    assert out.loc[1, "residential_m2"] == pytest.approx(60_000)
    assert out.loc[1, "far_m2"] == pytest.approx(40_000, abs=1.0)
    assert out.loc[1, "residential_near_ways"] == pytest.approx(1 / 3, abs=1e-4)
    # unit 2's land is 500 m from the way: all of it is far
    assert out.loc[2, "residential_near_ways"] == pytest.approx(0.0)


def test_footway_share_hand_worked():
    # in a 100 m square: a footway of 80 m and a street crossing it for 100 m (200 m long, half outside)
    units = _gdf([shapely.box(0, 0, 100, 100)], unit_id=[1])
    edges = _gdf([shapely.LineString([(10, 50), (90, 50)]), shapely.LineString([(50, -50), (50, 150)])],
                 highway=["footway", "residential"])
    out = footway_share(edges, units, ["footway", "path"]).iloc[0]
    assert out["network_km"] == pytest.approx(0.180)
    assert out["footway_km"] == pytest.approx(0.080)
    assert out["footway_share"] == pytest.approx(80 / 180)


def test_landuse_mapped_share_of_built_up_land_hand_worked():
    # a 100 m square; a park takes 20 m x 100 m (not built-up), a street 10 m x 100 m; a land-use
    # polygon covers 40 m x 100 m of the rest: 4,000 of 7,000 m² built-up
    units = _gdf([shapely.box(0, 0, 100, 100)], unit_id=[1])
    park = shapely.box(0, 0, 20, 100)
    street = shapely.box(90, 0, 100, 100)
    lu = _gdf([shapely.box(20, 0, 60, 100), shapely.box(-50, -50, -10, -10)], landuse_class=["commercial", "retail"])
    out = landuse_mapped(units, lu, [park], street).iloc[0]
    assert out["built_up_m2"] == pytest.approx(7_000)
    assert out["mapped_m2"] == pytest.approx(4_000)
    assert out["landuse_mapped"] == pytest.approx(4 / 7)
    # no land-use layer: not available, not zero
    assert np.isnan(landuse_mapped(units, None, [park], street).iloc[0]["landuse_mapped"])


def test_facilities_against_gb50180_hand_worked():
    # 24,000 residents: a 5-minute circle holds at most 12,000 (2 kindergartens expected), a 10-minute
    # one 25,000 (0.96 primary schools expected). One kindergarten with two entrances counts once.
    fac = pd.DataFrame({"unit_id": [1, 1, 1, 1, 1], "category": ["kindergarten", "kindergarten", "primary_school",
                                                                 "primary_school", "primary_school"],
                        "fac_id": [7, 7, 1, 2, 3]})
    res = pd.DataFrame({"unit_id": [1], "residents": [24_000.0]})
    by_cat, by_unit = facility_supply(fac, res, [("kindergarten", "5min"), ("primary_school", "10min")],
                                      {"5min": 12_000, "10min": 25_000, "15min": 100_000})
    k = by_cat.set_index("category").loc["kindergarten"]
    assert k["found"] == 1 and k["expected"] == pytest.approx(2.0) and k["ratio"] == pytest.approx(0.5)
    assert k["per_10k"] == pytest.approx(1e4 / 24_000) and k["expected_per_10k"] == pytest.approx(1e4 / 12_000)
    assert by_cat.set_index("category").loc["primary_school", "ratio"] == 1.0  # 3 found of 0.96: capped
    assert by_unit.iloc[0]["facilities"] == pytest.approx(0.75)


def test_park_register_matched_within_the_distance():
    units = _gdf([shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000)], unit_id=[1, 2])
    parks = _gdf([shapely.box(100, 100, 200, 200)])
    reg = _gdf([shapely.Point(230, 150), shapely.Point(280, 150), shapely.Point(150, 150)], name=["a", "b", "c"])
    by_unit, listing = register_match(reg, parks, units, 50.0)
    u = by_unit.set_index("unit_id")
    assert u.loc[1, "register_parks"] == 3 and u.loc[1, "register_matched"] == 2  # 30 m and inside match, 80 m not
    assert u.loc[1, "park_register"] == pytest.approx(2 / 3)
    assert np.isnan(u.loc[2, "park_register"])  # no register park there: not available
    assert listing.set_index("name").loc["b", "mapped_m"] == pytest.approx(80.0)


def test_grades_follow_the_preset_thresholds():
    s = load_settings()["completeness"]
    thr = s["measures"]["footway_share"]["grades"]
    assert [grade(v, thr) for v in (0.35, 0.30, 0.2, 0.1, 0.05, np.nan)] == ["A", "A", "B", "C", "D", None]
    t = pd.DataFrame({"unit_id": [1, 2], "residential_near_ways": [0.99, 0.5], "footway_share": [0.25, 0.0],
                      "landuse_mapped": [np.nan, 0.6], "facilities": [0.95, np.nan], "park_register": [np.nan, np.nan]})
    g = grade_units(t, s).set_index("unit_id")
    # unit 1: A (4) + B (3) + A (4) = 3.67 -> A; unit 2: D (1) + D (1) + C (2) = 1.33 -> D
    assert g.loc[1, "points"] == pytest.approx(11 / 3) and g.loc[1, "grade"] == "A"
    assert g.loc[2, "points"] == pytest.approx(4 / 3) and g.loc[2, "grade"] == "D"
    assert g.loc[2, "weakest"] == "residential_near_ways"
    assert g.loc[1, "measures_used"] == "residential_near_ways, footway_share, facilities"


def test_bad_quality_settings_are_usage_errors():
    from geoplan.errors import UsageError

    with pytest.raises(UsageError, match="unknown quality setting"):
        load_settings({"grades": {}})
    with pytest.raises(UsageError, match="footway_share.grades.A"):
        load_settings({"completeness": {"measures": {"footway_share": {"grades": {"A": 30}}}}})
    with pytest.raises(UsageError, match="access_rule"):
        load_settings({"sensitivity": {"choices": {"access_rule": ["gates", "doors"]}}})


# -- sensitivity, hand-worked -------------------------------------------------------

def _line_network():
    """A straight street along y = 0 from x = 0 to 2,000 m, a node every 100 m."""
    xs = np.arange(0, 2001, 100.0)
    lonlat = gpd.GeoSeries(gpd.points_from_xy(xs, np.zeros(len(xs))), crs=CRS).to_crs(4326)
    nodes = pd.DataFrame({"id": np.arange(1, len(xs) + 1), "lon": lonlat.x, "lat": lonlat.y})
    lines = [shapely.LineString([(lonlat.x[i], lonlat.y[i]), (lonlat.x[i + 1], lonlat.y[i + 1])]) for i in range(len(xs) - 1)]
    edges = gpd.GeoDataFrame({"u": nodes["id"][:-1].to_numpy(), "v": nodes["id"][1:].to_numpy(), "highway": "residential",
                              "id": np.arange(len(lines))}, geometry=lines, crs=4326)
    return build_network(nodes, edges, CRS)


def _toy_result():
    # a 100 m x 100 m park 10 m north of the street (no way touches it: virtual access points every
    # 100 m, the two southern corners 10 m from the street); three homes 15 m south of the street
    # (cells 10 m x 10 m centred on x = 300, 550, 700) with 100, 200 and 300 residents.
    net = _line_network()
    cells = _gdf([shapely.box(x - 5, -20, x + 5, -10) for x in (300, 550, 700)], unit_id=[1, 1, 1],
                 unit_name=["u"] * 3, area_m2=[100.0] * 3, residents=[100.0, 200.0, 300.0], historic=[False] * 3)
    parks = _gdf([shapely.box(0, 10, 100, 110)], name=["P"], type=["park"])
    rules = Rules("toy", (Tier("park", radius_m=500.0, min_area_m2=5000.0, minutes=7.0),), method="both")
    cfg = SimpleNamespace(rules=rules, parks={"access_points": {}}, population={}, inputs=SimpleNamespace(population=None))
    study = SimpleNamespace(network=net, parks=parks, historic=_gdf([]), entrances=_gdf([]), osm=None, landuse=None,
                            crs=net.crs)
    cov = SimpleNamespace(cells=cells, has_historic=False, methods=("euclidean", "network"))
    return SimpleNamespace(config=cfg, study=study, parks=cov)


def test_sensitivity_recomputes_coverage_hand_worked():
    # walks from the virtual access point (100, 10): 10 m to the street, along it, 15 m to the home:
    # x = 300 -> 225 m, x = 550 -> 475 m, x = 700 -> 625 m; straight line from the park's corner
    # (100, 10) to the nearest point of each cell: 200.2, 445.1 and 595.1 m
    settings = load_settings()["sensitivity"]
    run = SensitivityRun(_toy_result(), settings)
    base = run.base()
    assert base == {"park_definition": "audit", "access_rule": "ladder", "snap_limit_m": "none",
                     "walking_speed": "rule", "residential": "mapped"}
    f = run.figures(base)  # radius 500 m: the homes at 300 and 550 m are served by both methods
    assert f["all:network:land"] == pytest.approx(200 / 3) and f["all:network:residents"] == pytest.approx(50.0)
    assert f["all:euclidean:land"] == pytest.approx(200 / 3) and f["all:euclidean:residents"] == pytest.approx(50.0)
    # 7 minutes at 3.6 km/h = 420 m: only the home at 300; at 4.5 km/h = 525 m: the same two as the rule
    f = run.figures({**base, "walking_speed": "elderly"})
    assert f["all:network:land"] == pytest.approx(100 / 3) and f["all:network:residents"] == pytest.approx(100 / 6)
    assert f["all:euclidean:land"] == pytest.approx(100 / 3)
    assert run.figures({**base, "walking_speed": "adult"})["all:network:residents"] == pytest.approx(50.0)
    # homes 15 m from the street: a 50 m snap limit keeps them, none with a 12 m limit (straight line unchanged)
    assert run.figures({**base, "snap_limit_m": "50"})["all:network:land"] == pytest.approx(200 / 3)
    settings["choices"]["snap_limit_m"] = [12]
    run12 = SensitivityRun(_toy_result(), settings)
    f = run12.figures({**base, "snap_limit_m": "12"})
    assert f["all:network:land"] == 0.0 and f["all:euclidean:land"] == pytest.approx(200 / 3)
    # no gate is mapped: the gates-only rule cannot be computed and says why
    assert dict(run.options("access_rule"))["gates"] == "no gate or entrance is mapped in the data"

    s = run_sensitivity(_toy_result(), load_settings()["sensitivity"])
    r = s.ranges.set_index("figure").loc["all:network:residents"]
    assert r["base"] == pytest.approx(50.0) and r["min"] == pytest.approx(100 / 6) and r["max"] == pytest.approx(50.0)
    assert r["most_moving"] == "walking_speed" and r["swing_pp"] == pytest.approx(50 - 100 / 6)
    assert s.passes >= 2  # one kernel pass per tier and variant


# -- the default audit (Xicheng from data/) ---------------------------------------------

@pytest.fixture(scope="module")
def xicheng_quality(xicheng_audit):
    q = xicheng_audit.analyses.get("quality")
    assert q is not None, "the default audit runs the trust analysis"
    return xicheng_audit, q


@pytest.mark.slow
def test_xicheng_grades_every_jiedao_and_states_what_is_missing(xicheng_quality):
    r, q = xicheng_quality
    c = q.completeness
    assert len(c) == 15 and c["grade"].isin(["A", "B", "C", "D"]).all()
    # the street extract has no footway, path or steps inside Xicheng (checked with osmium on the raw
    # file: 92 footways, 17 paths and 29 steps, every one outside the district)
    assert (c["footway_km"] == 0).all() and (c["grade:footway_share"] == "D").all()
    # residential land: the measure's denominator is the land the figures are measured on
    assert c["residential_m2"].sum() == pytest.approx(r.parks.cells["area_m2"].sum(), rel=1e-9)
    # no park register in the sample: not available, said so
    assert c["park_register"].isna().all() and any(n.startswith("park_register") for n in q.notes)
    # the grade stands beside every per-unit figure in the tables
    t = r.tables()
    for name in ("park_coverage_by_unit", "population_by_unit", "lifecircle_by_unit"):
        if name in t:
            assert "data_grade" in t[name].columns, name
            g = dict(zip(c["unit_id"], c["grade"]))
            assert (t[name]["data_grade"] == t[name]["unit_id"].map(g)).all()


@pytest.mark.slow
def test_xicheng_sensitivity_base_is_the_audit_and_ranges_hold_it(xicheng_quality):
    r, q = xicheng_quality
    s = q.sensitivity
    cov = r.parks
    cells = cov.cells
    for _, row in s.ranges.iterrows():
        scope, method, measure = row["figure"].split(":")
        assert row["base"] == pytest.approx(cov.coverage(method, scope, measure), abs=1e-9)
        assert row["min"] <= row["base"] + 1e-9 <= row["max"] + 2e-9
    o = s.options.set_index(["figure", "choice", "option"])["value"]
    # mapped land only: the land figure is the audit's own figure on mapped land (park_coverage_by_source)
    bs = cov.by_source[(cov.by_source["scope"] == "all") & (cov.by_source["tier"] == "all")
                       & (cov.by_source["residential_source"] == "mapped")].set_index("method")
    for m in ("euclidean", "network"):
        assert o[(f"all:{m}:land", "residential", "mapped")] == pytest.approx(bs.loc[m, "land_pct"], abs=1e-9)
    # a 50 m snap limit, computed the audit's way: park coverage's own network_cover from the access
    # points the audit snapped within 50 m, counting the homes at most 50 m from the network
    acc = cov.access[cov.access["snap_m"] <= 50]
    cover, _ = network_cover(cells, cov.parks, acc, r.study.network, cov.rules)
    ok = np.isfinite(cover["net_dist"].to_numpy()) & (cells["net_snap_m"].to_numpy() <= 50)
    a = cells["area_m2"].to_numpy()
    assert o[("all:network:land", "snap_limit_m", "50")] == pytest.approx(100 * a[ok].sum() / a.sum(), abs=1e-9)
    assert (cov.access["snap_m"] > 50).any()  # the limit drops access points too (else the check above is weaker)
    # the straight line does not depend on access points or snapping
    assert o[("all:euclidean:land", "access_rule", "virtual")] == pytest.approx(cov.coverage("euclidean"), abs=1e-12)
    # cost: far less than the audit itself
    assert s.seconds < 0.5 * sum(v for k, v in r.timings.items() if not k.startswith("quality"))


@pytest.mark.slow
@pytest.mark.shared
def test_xicheng_parks_against_a_register(xicheng_audit, shared_data):
    # the 71 OSM park points of ../shared/data (centroids of OSM park polygons of 2026): the ones in
    # Xicheng must all be found among the mapped parks; distances checked with geopandas' nearest join
    from geoplan.quality import run_quality

    reg_path = shared_data("parks", "beijing_parks_osm_centroids.csv")
    s = load_settings({"park_register": str(reg_path), "sensitivity": {"enabled": False}})
    q = run_quality(xicheng_audit, s)
    reg = q.register
    assert set(["北海公园", "后海公园", "陶然亭公园", "北京大观园", "万寿公园", "南礼士路公园", "双秀公园"]) <= set(reg["name"])
    assert reg["matched"].all()
    near = gpd.sjoin_nearest(reg[["name", "geometry"]], xicheng_audit.study.parks[["geometry"]], distance_col="d")
    d = near.groupby("name")["d"].min()
    assert np.allclose(reg.set_index("name")["mapped_m"].loc[d.index].to_numpy(), d.to_numpy())
    c = q.completeness.set_index("unit_name")
    assert c.loc["什刹海街道", "register_parks"] == 3 and c.loc["什刹海街道", "grade:park_register"] == "A"
    assert np.isnan(c.loc["展览路街道", "park_register"])  # no register park there: not available, not 0


@pytest.mark.slow
def test_xicheng_tornado_charts_and_grade_layer(xicheng_quality, tmp_path):
    from geoplan import presenters
    from geoplan.presenters.quality import tornado_bars

    r, q = xicheng_quality
    figs = presenters.figures(q, tmp_path, "zh")
    assert len(figs) == len(q.sensitivity.ranges) and all((tmp_path / p).stat().st_size > 10_000 for _, p in figs)
    # the bars are the per-choice extremes of the options table; the widest is the one the range names
    key = "all:network:land"
    bars = tornado_bars(q.sensitivity.options[q.sensitivity.options["figure"] == key])
    rng = q.sensitivity.ranges.set_index("figure").loc[key]
    assert bars.iloc[0]["choice"] == rng["most_moving"] and bars.iloc[0]["swing"] == pytest.approx(rng["swing_pp"])
    layer = presenters.map_layers(q, "en")[0]
    assert list(layer.gdf["grade"]) == list(q.completeness["grade"]) and len(layer.gdf) == 15
    assert "A" in presenters.headline(q, "en") and "moved most by" in presenters.headline(q, "en")


def test_sensitivity_without_residents_is_undefined_not_a_warning():
    # no residents known (no population source): the residents figures are undefined under every
    # choice; the range says so (NaN) without a numpy warning, the land figures are still computed
    import warnings

    res = _toy_result()
    res.parks.cells["residents"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = run_sensitivity(res, load_settings()["sensitivity"])
    r = s.ranges.set_index("figure")
    assert np.isnan(r.loc["all:network:residents", "min"]) and np.isnan(r.loc["all:network:residents", "max"])
    assert r.loc["all:network:land", "min"] == pytest.approx(100 / 3)
