"""Tests of geoplan.sources.datum: WGS 84 / GCJ-02 / BD-09 conversion and detection."""

from __future__ import annotations

import warnings
from dataclasses import FrozenInstanceError
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon

from geoplan.errors import DataError, GeoplanWarning, UsageError
from geoplan.sources.datum import (
    DatumCheck,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_datum_shift,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    normalize_datum,
    out_of_china,
    to_wgs84,
    warn_if_shifted,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GEOD = pyproj.Geod(ellps="WGS84")


def metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    """Geodesic distance in metres between two sets of lon/lat points."""
    lon1, lat1, lon2, lat2 = np.broadcast_arrays(
        *(np.asarray(v, dtype=float) for v in (lon1, lat1, lon2, lat2))
    )
    return np.asarray(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def need_data(*parts: str) -> Path:
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real Beijing data not available: {path} is missing (see ../shared/data)")
    return path


# ---------------------------------------------------------------------------
# Published reference pairs
# ---------------------------------------------------------------------------
# (wgs_lon, wgs_lat, gcj_lon, gcj_lat)
WGS_GCJ_PAIRS = [
    # googollee/eviltransform, python/test.py (TESTS; given there as lat, lng):
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # Beijing
    # wandergis/coordtransform, test/app.js: wgs84togcj02(116.404, 39.915)
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),
    # madlogos/recharts2 docs of convWGS2GCJ / convGCJ2WGS (R/geoCoord.R):
    # Tiananmen square, WGS-84 (39.90734, 116.39089) -> GCJ-02 (39.90874107, 116.39713094)
    (116.39089, 39.90734, 116.39713094, 39.90874107),
    # caijun/geoChina docs of wgs2gcj: Beijing railway station,
    # WGS-84 (39.90105, 116.42079), GCJ-02 (39.90245, 116.42703) (5 decimals: ~0.8 m rounding)
    (116.42079, 39.90105, 116.42703, 39.90245),
]

# (gcj_lon, gcj_lat, bd_lon, bd_lat)
GCJ_BD_PAIRS = [
    # wandergis/coordtransform, test/app.js: gcj02tobd09(116.404, 39.915)
    (116.404, 39.915, 116.41036949371029, 39.92133699351021),
    # wandergis/coordtransform, test/app.js: bd09togcj02(116.404, 39.915)
    # (computed there with Baidu's closed-form approximate inverse)
    (116.39762729119315, 39.90865673957631, 116.404, 39.915),
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts: GCJ02 -> BD09 of [123, 45]
    (123.0, 45.0, 123.00636499, 45.00636899),
    # hujiulong/gcoord, test/unit/crs/BD09.spec.ts: BD09 -> GCJ02 of [123, 45]
    (122.99363304, 44.99365430, 123.0, 45.0),
    # caijun/geoChina docs of bd2gcj: Beijing railway station,
    # GCJ-02 (39.90245, 116.42703), BD-09 (39.90851, 116.43351) (5 decimals)
    (116.42703, 39.90245, 116.43351, 39.90851),
]


@pytest.mark.parametrize("wlon, wlat, glon, glat", WGS_GCJ_PAIRS)
def test_published_wgs84_gcj02_pairs(wlon, wlat, glon, glat):
    assert metres(*wgs84_to_gcj02(wlon, wlat), glon, glat) < 1.0
    assert metres(*gcj02_to_wgs84(glon, glat), wlon, wlat) < 1.0


@pytest.mark.parametrize("glon, glat, blon, blat", GCJ_BD_PAIRS)
def test_published_gcj02_bd09_pairs(glon, glat, blon, blat):
    assert metres(*gcj02_to_bd09(glon, glat), blon, blat) < 1.0
    assert metres(*bd09_to_gcj02(blon, blat), glon, glat) < 1.0


def test_published_pairs_vectorised():
    pairs = np.array(WGS_GCJ_PAIRS)
    glon, glat = wgs84_to_gcj02(pairs[:, 0], pairs[:, 1])
    assert glon.shape == (len(pairs),)
    assert np.all(metres(glon, glat, pairs[:, 2], pairs[:, 3]) < 1.0)
    wlon, wlat = gcj02_to_wgs84(pairs[:, 2], pairs[:, 3])
    assert np.all(metres(wlon, wlat, pairs[:, 0], pairs[:, 1]) < 1.0)


def test_offset_size_in_beijing():
    # Tiananmen: GCJ-02 is some 500-600 m east and 100-200 m north of the truth.
    glon, glat = wgs84_to_gcj02(116.39089, 39.90734)
    east = metres(116.39089, 39.90734, glon, 39.90734)
    north = metres(116.39089, 39.90734, 116.39089, glat)
    assert 450 < east < 600 and glon > 116.39089
    assert 100 < north < 220 and glat > 39.90734


# ---------------------------------------------------------------------------
# Round trips and identity outside China
# ---------------------------------------------------------------------------
china_lon = st.floats(min_value=73.5, max_value=135.0, allow_nan=False)
china_lat = st.floats(min_value=4.0, max_value=53.5, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_gcj02_hypothesis(lon, lat):
    back = gcj02_to_wgs84(*wgs84_to_gcj02(lon, lat))
    assert metres(*back, lon, lat) < 1.0
    # the inverse is exact, not the one-step approximation
    assert abs(float(back[0]) - lon) < 1e-7 and abs(float(back[1]) - lat) < 1e-7


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_round_trip_bd09_hypothesis(lon, lat):
    assert metres(*bd09_to_wgs84(*wgs84_to_bd09(lon, lat)), lon, lat) < 1.0
    assert metres(*bd09_to_gcj02(*gcj02_to_bd09(lon, lat)), lon, lat) < 1.0


@settings(max_examples=200, deadline=None)
@given(china_lon, china_lat)
def test_inverse_of_forward_is_exact(lon, lat):
    # gcj02_to_wgs84 solves wgs84_to_gcj02(x) == (lon, lat) to < 1e-7 degrees
    fwd = wgs84_to_gcj02(*gcj02_to_wgs84(lon, lat))
    assert abs(float(fwd[0]) - lon) < 1e-7 and abs(float(fwd[1]) - lat) < 1e-7
    fwd = gcj02_to_bd09(*bd09_to_gcj02(lon, lat))
    assert abs(float(fwd[0]) - lon) < 1e-7 and abs(float(fwd[1]) - lat) < 1e-7


def test_round_trip_grid_over_beijing():
    lon, lat = np.meshgrid(np.linspace(115.4, 117.6, 120), np.linspace(39.4, 41.1, 100))
    for forward, inverse in ((wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)):
        out_lon, out_lat = forward(lon, lat)
        assert out_lon.shape == lon.shape
        shift = metres(lon, lat, out_lon, out_lat)
        assert shift.min() > 100 and shift.max() < 1500  # really shifted
        back_lon, back_lat = inverse(out_lon, out_lat)
        assert back_lon.shape == lon.shape
        assert metres(lon, lat, back_lon, back_lat).max() < 1.0


def test_outside_china_is_identity():
    # London, New York, Sydney, Tokyo, Moscow
    lon = np.array([-0.1276, -74.006, 151.2093, 139.6917, 37.6173])
    lat = np.array([51.5072, 40.7128, -33.8688, 35.6895, 55.7558])
    assert out_of_china(lon, lat).all()
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)
    assert not out_of_china(116.4, 39.9)


def test_scalars_nan_and_empty_arrays():
    lon, lat = wgs84_to_gcj02(116.4, 39.9)
    assert isinstance(lon, np.ndarray) and lon.shape == ()
    lon, lat = gcj02_to_wgs84([116.4, np.nan], [39.9, 39.9])
    assert np.isfinite(lon[0]) and np.isnan(lon[1])
    lon, lat = bd09_to_wgs84(np.array([]), np.array([]))
    assert lon.shape == (0,) and lat.shape == (0,)


# ---------------------------------------------------------------------------
# to_wgs84 on GeoDataFrames
# ---------------------------------------------------------------------------
def _gcj_frame(crs="EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["point", "line", "polygon", "nothing"]},
        geometry=[
            Point(116.40, 39.91),
            LineString([(116.36, 39.90), (116.37, 39.91), (116.38, 39.93)]),
            Polygon([(116.35, 39.90), (116.36, 39.90), (116.36, 39.91), (116.35, 39.90)]),
            None,
        ],
        crs=crs,
    )


@pytest.mark.parametrize(
    "datum, func",
    [
        ("gcj02", gcj02_to_wgs84),
        ("GCJ-02", gcj02_to_wgs84),
        ("gcj_02", gcj02_to_wgs84),
        ("bd09", bd09_to_wgs84),
        ("BD-09", bd09_to_wgs84),
    ],
)
def test_to_wgs84_converts_every_vertex(datum, func):
    gdf = _gcj_frame()
    before = gdf.copy()
    out = to_wgs84(gdf, datum)
    assert out.crs.to_epsg() == 4326
    assert list(out["name"]) == list(gdf["name"])
    assert out.geometry.iloc[3] is None
    coords_in = shapely.get_coordinates(gdf.geometry.values)
    coords_out = shapely.get_coordinates(out.geometry.values)
    exp_lon, exp_lat = func(coords_in[:, 0], coords_in[:, 1])
    np.testing.assert_allclose(coords_out[:, 0], exp_lon, atol=1e-12)
    np.testing.assert_allclose(coords_out[:, 1], exp_lat, atol=1e-12)
    assert metres(coords_in[:, 0], coords_in[:, 1], coords_out[:, 0], coords_out[:, 1]).min() > 300
    assert list(out.geom_type[:3]) == ["Point", "LineString", "Polygon"]
    assert gdf.geometry.equals(before.geometry)  # input untouched


@pytest.mark.parametrize("datum", ["wgs84", "WGS 84", "cgcs2000", "CGCS2000", None])
def test_to_wgs84_without_shift(datum):
    gdf = _gcj_frame()
    out = to_wgs84(gdf, datum)
    assert out.crs.to_epsg() == 4326
    assert out.geometry.equals(gdf.geometry)


def test_to_wgs84_declared_datum_beats_geographic_label():
    # A layer labelled CGCS2000 geographic (EPSG:4490) that is really GCJ-02.
    gdf = _gcj_frame("EPSG:4490")
    out = to_wgs84(gdf, "gcj02")
    lon, lat = gcj02_to_wgs84(116.40, 39.91)
    assert out.crs.to_epsg() == 4326
    assert metres(out.geometry.iloc[0].x, out.geometry.iloc[0].y, lon, lat) < 0.01


def test_to_wgs84_no_crs_with_declared_datum():
    out = to_wgs84(_gcj_frame(None), "gcj02")
    lon, lat = gcj02_to_wgs84(116.40, 39.91)
    assert out.crs.to_epsg() == 4326
    assert metres(out.geometry.iloc[0].x, out.geometry.iloc[0].y, lon, lat) < 0.01


@pytest.mark.parametrize("datum", ["EPSG:4547", "epsg:4547", 4547, np.int64(4547)])
def test_to_wgs84_with_crs_declaration(datum):
    # CGCS2000 / 3-degree Gauss-Kruger CM 114E
    to_gk = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4547", always_xy=True)
    x, y = to_gk.transform([116.35, 116.40], [39.90, 39.93])
    gdf = gpd.GeoDataFrame(geometry=gpd.points_from_xy(x, y))  # no CRS in the file
    out = to_wgs84(gdf, datum)
    assert out.crs.to_epsg() == 4326
    assert metres(out.geometry.x, out.geometry.y, [116.35, 116.40], [39.90, 39.93]).max() < 1.0


def test_to_wgs84_projected_layer_declared_gcj02():
    # GCJ-02 coordinates projected to UTM 50N: unproject, then remove the offset.
    gdf = _gcj_frame().to_crs("EPSG:32650")
    out = to_wgs84(gdf, "gcj02")
    lon, lat = gcj02_to_wgs84(116.40, 39.91)
    assert metres(out.geometry.iloc[0].x, out.geometry.iloc[0].y, lon, lat) < 0.01


def test_to_wgs84_keeps_z():
    gdf = gpd.GeoDataFrame(geometry=[Point(116.4, 39.9, 50.0), Point(116.5, 39.8)], crs=4326)
    out = to_wgs84(gdf, "gcj02")
    assert out.geometry.iloc[0].has_z and out.geometry.iloc[0].z == 50.0
    assert not out.geometry.iloc[1].has_z


def test_to_wgs84_empty_frame():
    gdf = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326))
    out = to_wgs84(gdf, "bd09")
    assert len(out) == 0 and out.crs.to_epsg() == 4326


@pytest.mark.parametrize("bad", ["mars", "gcj03", "EPSG:99999999", 3.5])
def test_unknown_datum_is_usage_error(bad):
    with pytest.raises(UsageError) as info:
        to_wgs84(_gcj_frame(), bad)
    text = str(info.value)
    for accepted in ("wgs84", "gcj02", "bd09", "cgcs2000", "EPSG"):
        assert accepted in text
    assert info.value.exit_code == 2


def test_no_crs_and_no_datum_is_data_error_naming_the_source():
    with pytest.raises(DataError) as info:
        to_wgs84(_gcj_frame(None), source="parks_from_amap.geojson")
    assert "parks_from_amap.geojson" in str(info.value)
    assert "--datum" in str(info.value)
    assert info.value.exit_code == 3


def test_normalize_datum():
    assert normalize_datum("GCJ-02") == "gcj02"
    assert normalize_datum(" bd-09 ") == "bd09"
    assert normalize_datum("WGS-84") == "wgs84"
    assert normalize_datum("") is None and normalize_datum(None) is None
    crs = normalize_datum("EPSG:4548")
    assert isinstance(crs, pyproj.CRS) and crs.to_epsg() == 4548


# ---------------------------------------------------------------------------
# Real data: Xicheng district outlines (AMap GCJ-02 vs Tianditu)
# ---------------------------------------------------------------------------
def _xicheng(path: Path) -> gpd.GeoDataFrame:
    gdf = gpd.read_file(path)
    gdf = gdf[gdf["adcode"].astype(str) == "110102"]  # Xicheng
    assert len(gdf) == 1
    return gdf


def _centroid_offset_m(layer: gpd.GeoDataFrame, truth: gpd.GeoDataFrame) -> tuple[float, float]:
    utm = truth.estimate_utm_crs()
    c = layer.to_crs(utm).geometry.iloc[0].centroid
    t = truth.to_crs(utm).geometry.iloc[0].centroid
    return c.x - t.x, c.y - t.y


@pytest.mark.shared
def test_xicheng_amap_outline_offset_and_conversion():
    amap = _xicheng(need_data("boundaries", "beijing_districts_amap_gcj02.geojson"))
    truth = _xicheng(need_data("boundaries", "beijing_districts_tianditu.geojson"))
    assert amap.crs.to_epsg() == 4326  # labelled WGS 84, but it is not

    east, north = _centroid_offset_m(amap, truth)
    # measured: 494 m east, 141 m north
    assert 400 < east < 600
    assert 80 < north < 220

    fixed = to_wgs84(amap, "gcj02", source="beijing_districts_amap_gcj02.geojson")
    east, north = _centroid_offset_m(fixed, truth)
    # measured: 36 m (35.7 m west, 6.1 m south): the two outlines are digitised
    # differently, so a few tens of metres remain
    assert np.hypot(east, north) < 50


# ---------------------------------------------------------------------------
# Real data: shift detection against the Xicheng street network
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def streets() -> gpd.GeoDataFrame:
    path = need_data("osm", "xicheng_streets_2024-03.osm.pbf")
    pyrosm = pytest.importorskip("pyrosm")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        network = pyrosm.OSM(str(path)).get_network(network_type="walking")
    assert network.crs is not None and len(network) > 5000
    return network


@pytest.fixture(scope="module")
def greenway() -> gpd.GeoDataFrame:
    gdf = gpd.read_file(need_data("greenways", "环二环城市绿道.geojson"))
    assert gdf.crs.to_epsg() == 4326  # labelled WGS 84, really GCJ-02
    return gdf


@pytest.mark.shared
def test_greenway_in_gcj02_is_flagged(greenway, streets):
    check = check_datum_shift(greenway, streets, source="环二环城市绿道.geojson")
    # measured: 1,910 vertices, median 34.8 m as declared, 14.1 m as GCJ-02, 31.8 m as BD-09
    assert check.n_vertices > 1000
    assert check.suspected == "gcj02"
    assert 25 < check.median_distance_m < 50
    assert check.median_distance_if_gcj02_m < 20
    assert check.median_distance_if_gcj02_m < 0.5 * check.median_distance_m
    assert check.median_distance_if_bd09_m > check.median_distance_if_gcj02_m
    assert "环二环城市绿道.geojson" in check.message
    assert "--datum gcj02" in check.message and "datum: gcj02" in check.message
    with pytest.raises(FrozenInstanceError):
        check.suspected = None  # type: ignore[misc]


@pytest.mark.shared
def test_greenway_after_conversion_is_not_flagged(greenway, streets):
    fixed = to_wgs84(greenway, "gcj02")
    check = check_datum_shift(fixed, streets, source="greenway")
    # measured: 14.1 m as declared, 29.0 m as GCJ-02, 35.9 m as BD-09
    assert check.suspected is None
    assert check.median_distance_m < 20
    assert check.median_distance_if_gcj02_m > check.median_distance_m
    with warnings.catch_warnings():
        warnings.simplefilter("error", GeoplanWarning)
        assert warn_if_shifted(fixed, streets).suspected is None


@pytest.mark.shared
def test_greenway_in_bd09_is_flagged_as_bd09(greenway, streets):
    fixed = to_wgs84(greenway, "gcj02")
    to_bd = lambda c: np.column_stack(wgs84_to_bd09(c[:, 0], c[:, 1]))  # noqa: E731
    as_baidu = fixed.set_geometry(shapely.transform(fixed.geometry.values, to_bd))
    check = check_datum_shift(as_baidu, streets)
    # measured: 53.2 m as declared, 42.7 m as GCJ-02, 13.4 m as BD-09
    assert check.suspected == "bd09"
    assert "--datum bd09" in check.message


@pytest.mark.shared
def test_warn_if_shifted_warns(greenway, streets):
    with pytest.warns(GeoplanWarning, match="datum: gcj02"):
        check = warn_if_shifted(greenway, streets, source="环二环城市绿道.geojson")
    assert isinstance(check, DatumCheck) and check.suspected == "gcj02"


@pytest.mark.shared
def test_streets_themselves_are_not_flagged(streets):
    check = check_datum_shift(streets, streets, source="streets")
    assert check.suspected is None
    assert check.median_distance_m < 1.0
    assert check.median_distance_if_gcj02_m > 20  # measured 38 m


@pytest.mark.shared
def test_layer_that_avoids_streets_is_not_flagged(streets):
    """OSM water and woods (WGS 84) lie far from streets; any shift of ~600 m brings them nearer to some street.

    Measured: 108 m as declared, 36 m read as BD-09 -- flagged as BD-09 before the turned-shift control.
    """
    natural = gpd.read_file(Path(__file__).resolve().parents[1] / "data" / "xicheng_natural_osm_2024-05.geojson")
    check = check_datum_shift(natural, streets, source="natural")
    assert check.median_distance_m > 2 * check.median_distance_if_bd09_m  # the naive test would suspect BD-09
    assert check.suspected is None


@pytest.mark.shared
def test_tianditu_outline_is_not_flagged(streets):
    districts = gpd.read_file(need_data("boundaries", "beijing_districts_tianditu.geojson"))
    check = check_datum_shift(districts, streets, source="tianditu districts")
    # measured: 76 vertices, 10.4 m as declared, 58.3 m as GCJ-02, 42.5 m as BD-09
    assert check.n_vertices >= 20
    assert check.suspected is None
    assert check.median_distance_m < check.median_distance_if_gcj02_m


@pytest.mark.shared
def test_layer_outside_the_reference_gives_no_verdict(streets):
    points = gpd.points_from_xy([121.47, 121.48], [31.23, 31.24])
    shanghai = gpd.GeoDataFrame(geometry=points, crs=4326)
    check = check_datum_shift(shanghai, streets, source="shanghai")
    assert check.n_vertices == 0 and check.suspected is None
    assert np.isnan(check.median_distance_m)
    assert "not checked" in check.message


def test_check_datum_shift_needs_a_crs():
    layer = _gcj_frame(None)
    with pytest.raises(DataError, match="greenway.geojson"):
        check_datum_shift(layer, _gcj_frame(), source="greenway.geojson")


def test_check_datum_shift_synthetic_grid():
    # A synthetic street grid (WGS 84) and "AMap" copies of a few of its streets.
    xs = np.linspace(116.35, 116.40, 26)
    ys = np.linspace(39.90, 39.94, 21)
    grid = [LineString([(x, ys[0]), (x, ys[-1])]) for x in xs]
    grid += [LineString([(xs[0], y), (xs[-1], y)]) for y in ys]
    reference = gpd.GeoDataFrame(geometry=grid, crs=4326)
    lon = np.linspace(116.355, 116.395, 200)
    truth_lines = [LineString(np.column_stack([lon, np.full_like(lon, y)])) for y in ys[2:-2]]
    truth = gpd.GeoDataFrame(geometry=truth_lines, crs=4326)
    to_gcj = lambda c: np.column_stack(wgs84_to_gcj02(c[:, 0], c[:, 1]))  # noqa: E731
    amap = truth.set_geometry(shapely.transform(truth.geometry.values, to_gcj))
    assert check_datum_shift(amap, reference).suspected == "gcj02"
    assert check_datum_shift(truth, reference).suspected is None
