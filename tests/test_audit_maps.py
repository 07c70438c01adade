"""The maps of the default audit (Xicheng, what ``geoplan audit`` writes with no arguments), read as a planner would.

* The interactive map in headless Chromium at 1,366 x 768: how many layers are
  on at first, the legend fully inside the window with no scroll bar, the
  unit names written on the map, the unit search zooming to a unit.
* The print maps: every PNG read back with PIL at 300 dpi, every map on A4
  and A3 as PNG and as a PDF that draws paths (vector), not one picture; unit
  names on the map; the CRS named as the one used; colour classes apart in
  greyscale and for colour-blind readers (computed here from CIELAB lightness
  and the Machado et al. 2009 colour-vision matrices, not from the code under test).
* The GeoPackage's ``layer_styles`` table read back, and the layers loaded with
  PyQGIS (Debian's python3-qgis) where it is installed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from geoplan.maps.layers import MapLayer
from geoplan.maps.qgis import read_layer_styles

try:
    from tests.browser import offline_chromium, render_html
except ImportError:  # tests/ itself is on sys.path
    from browser import offline_chromium, render_html

VIEWPORT = (1366, 768)
#: Pixels of A4 and A3 landscape at 300 dpi.
PAPER_PX = {"A4": (3508, 2480), "A3": (4961, 3508)}
#: PDF page sizes in points (1/72 inch).
PAPER_PT = {"A4": (841.9, 595.3), "A3": (1190.6, 841.9)}


# ------------------------------------------------------------ the interactive map
@pytest.mark.slow
@pytest.mark.browser
def test_interactive_map_first_view_at_1366x768(xicheng_report_zh, xicheng_audit, tmp_path):
    shot = tmp_path / "map_1366x768.png"
    r = render_html(xicheng_report_zh / "map.html", screenshot=shot, width=VIEWPORT[0], height=VIEWPORT[1], timeout_s=60)
    assert r.leaflet_loaded and not r.js_errors, r.js_errors
    assert not r.external_requests, r.external_requests
    assert r.viewport == list(VIEWPORT)
    # at most four layers on at first, the park-coverage story, in a grouped layer control
    assert 3 <= len(r.layers_on) <= 4, r.layers_on
    assert len(r.layer_groups) >= 3, r.layer_groups
    assert len(r.layer_control_labels) > 20  # everything else waits in the control
    # the legend is inside the window and does not scroll
    box = r.legend_box
    assert box is not None and r.legend_present
    assert box["left"] >= 0 and box["top"] >= 0 and box["right"] <= VIEWPORT[0] and box["bottom"] <= VIEWPORT[1], box
    assert r.legend_overflow is not None and r.legend_overflow <= 0, r.legend_overflow
    # the unit names are written on the map (labels that would overlap wait for a closer zoom)
    names = set(xicheng_audit.study.units["unit_name"])
    shown = set(r.labels_shown)
    assert shown <= names and len(shown) >= 0.8 * len(names), sorted(names - shown)
    # and every unit can be searched for
    assert set(r.search_options) == names
    from PIL import Image

    assert Image.open(shot).size == VIEWPORT


@pytest.mark.slow
@pytest.mark.browser
def test_unit_search_zooms_to_the_unit(xicheng_report_zh, xicheng_audit):
    units = xicheng_audit.study.units.to_crs(4326)
    unit = units.iloc[int(np.argmin(units.to_crs(xicheng_audit.study.crs).area))]  # the smallest unit
    w, s, e, n = unit.geometry.bounds
    with offline_chromium(*VIEWPORT) as d:
        d.set_page_load_timeout(60)
        d.get((xicheng_report_zh / "map.html").resolve().as_uri())
        before = d.execute_script("""
            for (const k in window) { if (k.startsWith('map_') && window[k] && window[k].getZoom) { window.__m = window[k]; } }
            return window.__m.getZoom();""")
        box = d.find_element("css selector", ".geoplan-search input")
        box.send_keys(str(unit["unit_name"]))
        box.send_keys("\n")
        got = d.execute_script("""const c = window.__m.getCenter();
            const p = document.querySelector('.leaflet-popup-content');
            return [window.__m.getZoom(), c.lat, c.lng, p ? p.innerText : ''];""")
    zoom, lat, lon, popup = got
    assert zoom > before
    assert s <= lat <= n and w <= lon <= e
    assert popup == unit["unit_name"]


def test_legend_has_no_heading_repeating_its_only_row():
    import geopandas as gpd
    import shapely

    from geoplan.maps.interactive import legend_html

    g = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=3857)
    one = MapLayer(g, "Blind spots", color="#333333")
    two = MapLayer(g.assign(k=["a"]), "Parks", column="k", categories={"a": "#238b45"}, category_labels={"a": "big"})
    a, b = legend_html([one, two])
    assert "<h4>" not in a and a.count("Blind spots") == 1
    assert "<h4>Parks</h4>" in b


# ------------------------------------------------------------------ print maps
def _print_maps(folder: Path) -> list[Path]:
    return sorted(p for p in (folder / "maps").rglob("*") if p.suffix in (".png", ".pdf"))


@pytest.mark.slow
def test_every_png_is_300_dpi(xicheng_report_zh):
    from PIL import Image

    pngs = sorted((xicheng_report_zh / "maps").rglob("*.png"))
    assert len(pngs) >= 4 * 2 + 15  # park coverage and each analysis on A4 and A3, every unit
    dpi = {}
    for p in pngs:
        with Image.open(p) as im:
            dpi[p.relative_to(xicheng_report_zh).as_posix()] = im.info.get("dpi")
    bad = {k: v for k, v in dpi.items() if v is None or abs(v[0] - 300) > 0.5 or abs(v[1] - 300) > 0.5}
    assert not bad, bad


@pytest.mark.slow
def test_every_print_map_on_a4_and_a3_as_png_and_vector_pdf(xicheng_report_zh, xicheng_audit):
    from PIL import Image

    maps = xicheng_report_zh / "maps"
    stems = ["park_coverage"] + [k for k in xicheng_audit.analyses if (maps / f"{k}_A4.png").exists()]
    assert {"park_coverage", "lifecircle", "fairness"} <= set(stems)
    for stem in stems:
        for paper in ("A4", "A3"):
            with Image.open(maps / f"{stem}_{paper}.png") as im:
                assert im.size == PAPER_PX[paper], (stem, paper, im.size)
            pdf = _pdf(maps / f"{stem}_{paper}.pdf")
            assert pdf["pages"] == 1
            assert pdf["page_pt"] == pytest.approx(PAPER_PT[paper], abs=1.0)
            assert pdf["images"] == 0, f"{stem}_{paper}.pdf embeds a picture"
            assert pdf["paths"] > 100, (stem, paper, pdf)  # streets, land, outlines and symbols drawn as paths
    for uid in xicheng_audit.study.units["unit_id"]:
        pdf = _pdf(maps / "units" / f"{uid}.pdf")
        assert pdf["images"] == 0 and pdf["paths"] > 100 and pdf["page_pt"] == pytest.approx(PAPER_PT["A4"], abs=1)


def _pdf(path: Path) -> dict:
    """Pages, page size, image objects and path-drawing operators of a PDF (its streams inflated here)."""
    raw = path.read_bytes()
    assert raw.startswith(b"%PDF"), path
    images = len(re.findall(rb"/Subtype\s*/Image", raw))
    paths = 0
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S):
        data = m.group(1)
        try:
            data = zlib.decompress(data)
        except zlib.error:
            pass
        # painting of a constructed path (f, S, B ...) or a vector form drawn again (Do: markers, repeated shapes)
        paths += len(re.findall(rb"(?:^|\s)(?:f\*?|S|B\*?|b\*?|Do)(?=\s|$)", data))
    box = re.search(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", raw)
    pages = len(re.findall(rb"/Type\s*/Page(?!s)", raw))
    return {"images": images, "paths": paths, "pages": pages,
            "page_pt": (float(box.group(1)), float(box.group(2))) if box else None}


@pytest.mark.slow
def test_print_map_labels_every_unit(xicheng_audit):
    from geoplan.maps.static import static_figure
    from geoplan.presenters.parks import park_map_layers

    layers = park_map_layers(xicheng_audit.parks, xicheng_audit.study.units, "zh", for_print=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = static_figure(layers, title="x", paper="A4", dpi=60, lang="zh")
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    for name in xicheng_audit.study.units["unit_name"]:
        assert any(t.startswith(name + "\n") and t.endswith("%") for t in texts), name


def test_print_map_names_the_crs_it_is_drawn_in(xicheng_audit):
    """With --crs EPSG:4547 the study's layers are in EPSG:4547: the map is drawn in it and names it."""
    import dataclasses

    from geoplan.maps.static import static_figure
    from geoplan.presenters.parks import park_map_layers

    layers = park_map_layers(xicheng_audit.parks, xicheng_audit.study.units, "en", for_print=True)
    in_4547 = [dataclasses.replace(x, gdf=x.gdf.to_crs("EPSG:4547")) for x in layers[:2]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = static_figure(in_4547, title="x", paper="A4", dpi=50, lang="en")
    notes = [t.get_text() for t in fig.texts if t.get_text().startswith("CRS")]
    assert notes and "EPSG:4547" in notes[0] and "UTM" not in notes[0], notes
    # and the audit's print maps are asked to draw in the study's own CRS
    from geoplan.presenters.audit_maps import print_map_jobs

    jobs = print_map_jobs(xicheng_audit, Path("/nonexistent"), "en", area_name="Xicheng")
    assert jobs and all(j.kwargs["crs"] == xicheng_audit.study.crs for j in jobs)
    assert all("Xicheng" in j.kwargs["title"] for j in jobs)


# -------------------------------------------------- colours in greyscale and for CVD
#: Machado, Oliveira & Fernandes (2009), severity 1.0, on linear sRGB.
CVD = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def _srgb(hex_colour: str, alpha: float = 1.0) -> np.ndarray:
    rgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    return alpha * rgb + (1 - alpha) * 1.0  # printed on white paper


def _linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _lab(lin: np.ndarray) -> np.ndarray:
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = m @ np.clip(lin, 0, 1) / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def _apart(colours: list[str], alpha: float) -> tuple[float, float]:
    """Smallest lightness difference (greyscale print) and smallest CIE76 difference under any colour-vision deficiency."""
    lin = [_linear(_srgb(c, alpha)) for c in colours]
    grey = min(abs(_lab(a)[0] - _lab(b)[0]) for i, a in enumerate(lin) for b in lin[i + 1:])
    cvd = min(np.linalg.norm(_lab(m @ a) - _lab(m @ b))
              for m in CVD.values() for i, a in enumerate(lin) for b in lin[i + 1:])
    return grey, cvd


def test_colour_check_is_sound():
    """The check tells red from green apart only by lightness: a classic red/green pair fails it."""
    grey, cvd = _apart(["#d73027", "#1a9850"], 1.0)
    assert grey < 8 and cvd < 20
    grey, cvd = _apart(["#ffffff", "#000000"], 1.0)
    assert grey > 99


@pytest.mark.slow
def test_print_map_classes_apart_in_greyscale_and_for_colour_blind_readers(xicheng_audit):
    """Every classed layer of the print maps: adjacent classes >= 8 L* apart on paper, any two >= 10 CIE76
    apart for protan, deutan and tritan readers. Blind spots, drawn over uncovered land, are hatched."""
    from geoplan import presenters
    from geoplan.presenters.parks import park_map_layers

    layers = park_map_layers(xicheng_audit.parks, xicheng_audit.study.units, "en", for_print=True)
    layers += [x for x in park_map_layers(xicheng_audit.parks, xicheng_audit.study.units, "en")
               if x.key == "units"]  # the choropleth of the interactive map and of QGIS
    for name in ("lifecircle", "fairness"):
        layers += [x for x in presenters.map_layers(xicheng_audit.analyses[name], "en") if x.show]
    checked = []
    for layer in layers:
        if layer.column is None or layer.kind == "line":
            continue
        colours = [c for _, c in layer.legend_entries()]
        if len(colours) < 2 or len(colours) > 6:  # many unordered categories (facility kinds) are told by hue
            continue
        alpha = max(layer.fill_opacity, 0.35) if layer.kind == "polygon" else layer.fill_opacity
        grey, cvd = _apart(colours, alpha)
        checked.append(layer.name)
        assert grey >= 8, (layer.name, colours, round(grey, 1))
        assert cvd >= 10, (layer.name, colours, round(cvd, 1))
    assert len(checked) >= 5, checked
    blind = [x for x in layers if x.key == "blind_spots"]
    assert blind and all(x.hatch for x in blind)


# ----------------------------------------------------------------- GeoPackage
@pytest.mark.slow
def test_geopackage_layer_styles_read_back(xicheng_report_zh):
    import xml.etree.ElementTree as ET

    import pyogrio

    gpkg = xicheng_report_zh / "geoplan.gpkg"
    styles = read_layer_styles(gpkg)
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"units", "parks", "residential_cells", "blind_spots", "lifecircle_units", "fairness_units",
            "quality_completeness"} <= set(styles)
    assert set(styles) <= layers
    for table, row in styles.items():
        assert row["useAsDefault"] and row["f_geometry_column"] == "geom" and row["styleName"] == "geoplan"
        ET.fromstring(row["styleQML"].split("\n", 1)[1])  # well-formed QML
    # the same classes and colours as the maps
    units = ET.fromstring(styles["units"]["styleQML"].split("\n", 1)[1])
    r = units.find("renderer-v2")
    assert r.get("type") == "graduatedSymbol" and r.get("attr") == "net_land_pct"
    assert [float(x.get("lower")) for x in r.iter("range")] == [0, 50, 70, 80, 90, 95]
    from geoplan.maps.palettes import COVERAGE_6, COVERED, NOT_COVERED

    fills = [_rgb_of(s.find("layer/prop[@k='color']").get("v")) for s in r.iter("symbol")]
    assert fills == [_qgis_rgb(c) for c in COVERAGE_6]
    assert units.find("labeling/settings/text-style").get("fieldName") == "unit_name"
    cells = ET.fromstring(styles["residential_cells"]["styleQML"].split("\n", 1)[1]).find("renderer-v2")
    got = {c.get("value"): _rgb_of(s.find("layer/prop[@k='color']").get("v"))
           for c, s in zip(cells.iter("category"), cells.iter("symbol"))}
    assert got == {"covered": _qgis_rgb(COVERED), "not_covered": _qgis_rgb(NOT_COVERED)}
    # the data-completeness grade of each unit (#17): A-D in the grade colours, units named
    from geoplan.presenters.quality import GRADE_COLORS

    grades = ET.fromstring(styles["quality_completeness"]["styleQML"].split("\n", 1)[1])
    r = grades.find("renderer-v2")
    assert r.get("type") == "categorizedSymbol" and r.get("attr") == "grade"
    got = {c.get("value"): _rgb_of(s.find("layer/prop[@k='color']").get("v")) for c, s in zip(r.iter("category"), r.iter("symbol"))}
    assert got == {k: _qgis_rgb(v) for k, v in GRADE_COLORS.items()}
    assert grades.find("labeling/settings/text-style").get("fieldName") == "unit_name"
    blind = ET.fromstring(styles["blind_spots"]["styleQML"].split("\n", 1)[1])
    assert "b_diagonal" in {p.get("v") for p in blind.iter("prop") if p.get("k") == "style"}
    # GDAL lists the style table as a plain table
    assert "layer_styles" in layers or "layer_styles" in {n for n, _ in pyogrio.list_layers(gpkg)}


def _rgb_of(qgis_colour: str) -> str:
    """``r,g,b`` of a QGIS ``r,g,b,a`` colour (the alpha is the layer's fill opacity)."""
    return ",".join(qgis_colour.split(",")[:3])


def _qgis_rgb(hex_colour: str) -> str:
    return ",".join(str(int(hex_colour[i:i + 2], 16)) for i in (1, 3, 5))


_QGIS_SCRIPT = r"""
import json, os, sys
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from qgis.core import QgsApplication, QgsRenderContext, QgsVectorLayer
app = QgsApplication([], False)
app.initQgis()
out = {}
for name in sys.argv[2:]:
    lyr = QgsVectorLayer(f"{sys.argv[1]}|layername={name}", name, "ogr")
    r = lyr.renderer()
    info = {"valid": lyr.isValid(), "renderer": r.type(), "features": lyr.featureCount(),
            "labels": lyr.labelsEnabled()}
    if r.type() == "categorizedSymbol":
        info["classes"] = [[str(c.value()), c.symbol().color().name()] for c in r.categories()]
    elif r.type() == "graduatedSymbol":
        info["classes"] = [[g.lowerValue(), g.upperValue(), g.symbol().color().name()] for g in r.ranges()]
    ctx = QgsRenderContext()
    r.startRender(ctx, lyr.fields())
    drawn = 0
    for f in lyr.getFeatures():
        ctx.expressionContext().setFeature(f)
        drawn += r.symbolForFeature(f, ctx) is not None
    r.stopRender(ctx)
    info["drawn"] = drawn
    out[name] = info
print(json.dumps(out))
sys.stdout.flush()
os._exit(0)  # QGIS can crash while tearing down; the answer is out
"""

SYSTEM_PYTHON = "/usr/bin/python3"


def _have_pyqgis() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=120).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.mark.slow
def test_geopackage_opens_styled_in_qgis(xicheng_report_zh, xicheng_audit, tmp_path):
    """PyQGIS (Debian's python3-qgis, run by the system Python) loads each layer with its style by itself."""
    if not _have_pyqgis():
        pytest.skip("PyQGIS not available to /usr/bin/python3 (Debian: apt-get install python3-qgis)")
    script = tmp_path / "qgis_check.py"
    script.write_text(_QGIS_SCRIPT, encoding="utf-8")
    names = ["units", "parks", "residential_cells", "blind_spots", "lifecircle_origins", "fairness_units",
             "quality_completeness"]
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    run = subprocess.run([SYSTEM_PYTHON, str(script), str(xicheng_report_zh / "geoplan.gpkg"), *names],
                         capture_output=True, text=True, timeout=300, env=env, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    from geoplan.maps.palettes import COVERAGE_6, COVERED, NOT_COVERED

    assert all(v["valid"] for v in got.values())
    assert got["units"]["renderer"] == "graduatedSymbol" and got["units"]["labels"]
    assert [c[2] for c in got["units"]["classes"]] == list(COVERAGE_6)
    assert got["units"]["drawn"] == 15
    cells = got["residential_cells"]
    assert cells["renderer"] == "categorizedSymbol"
    assert dict(cells["classes"]) == {"covered": COVERED, "not_covered": NOT_COVERED}
    assert cells["drawn"] == cells["features"]  # every cell falls in a class: the expression reads the field
    bs = xicheng_audit.parks.blind_spots
    assert got["blind_spots"]["drawn"] == int((bs["method"] == "network").sum())
    assert got["parks"]["drawn"] == got["parks"]["features"]
    assert got["lifecircle_origins"]["drawn"] == got["lifecircle_origins"]["features"]
    q = got["quality_completeness"]
    assert q["renderer"] == "categorizedSymbol" and q["labels"] and q["drawn"] == q["features"] == 15
    from geoplan.presenters.quality import GRADE_COLORS

    assert dict(q["classes"]) == {k: v.lower() for k, v in GRADE_COLORS.items()}


# ------------------------------------------------------------------ words
def test_area_name_and_title_options_reach_the_configuration():
    from geoplan.cli import build_parser, config_from_args

    args = build_parser().parse_args(["audit", "--area-name", "西城区", "--title", "西城区公园体检"])
    cfg = config_from_args(args)
    assert cfg.extra["report"]["area"] == "西城区" and cfg.extra["report"]["title"] == "西城区公园体检"


@pytest.mark.slow
def test_area_name_and_title_options_reach_every_title(xicheng_audit):
    """From the command line to the pages and maps: the report's title, each print map's title, the map page's."""
    import dataclasses

    from geoplan.cli import build_parser, config_from_args
    from geoplan.presenters.audit_maps import print_map_jobs
    from geoplan.presenters.pages.context import area_name, report_title

    rep = config_from_args(build_parser().parse_args(["audit", "--area-name", "示范区 Testville"])).extra["report"]
    extra = dict(xicheng_audit.config.extra, report=dict(xicheng_audit.config.extra.get("report") or {}, **rep))
    res = dataclasses.replace(xicheng_audit, config=dataclasses.replace(xicheng_audit.config, extra=extra))
    assert area_name(res) == "示范区 Testville"
    assert report_title(res, "zh", area_name(res)).startswith("示范区 Testville · ")  # no --title: area and report
    jobs = print_map_jobs(res, Path("/nonexistent"), "zh", area_name=area_name(res))
    assert {j.rel.split("_A")[0] for j in jobs} >= {"maps/park_coverage", "maps/lifecircle", "maps/fairness"}
    assert all(j.kwargs["title"].endswith(" · 示范区 Testville") for j in jobs), [j.kwargs["title"] for j in jobs]
    # --title replaces the report's title (and so the interactive map's, which is "<title> · park coverage")
    rep = config_from_args(build_parser().parse_args(["audit", "--title", "Testville 公园体检"])).extra["report"]
    res = dataclasses.replace(res, config=dataclasses.replace(res.config, extra=dict(extra, report=dict(extra["report"], **rep))))
    assert report_title(res, "zh", area_name(res)) == "Testville 公园体检"


@pytest.mark.slow
def test_no_word_doubled_in_layer_names(xicheng_audit):
    from geoplan.presenters.audit_maps import audit_map_layers

    for lang in ("en", "zh"):
        for layer in audit_map_layers(xicheng_audit, lang):
            words = layer.name.lower().split()
            assert not any(a == b for a, b in zip(words, words[1:])), layer.name
            assert "circle circle" not in layer.name and "生活圈生活圈" not in layer.name
