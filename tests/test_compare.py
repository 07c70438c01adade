"""``geoplan compare`` on two real audits of the bundled Helsinki sample that differ.

The later audit gives the parks as a user layer with one park removed
(Esplanadinpuisto), so the change is hand-checkable from the residential
cells of the two GeoPackages: land that loses its walking coverage is the
cells covered before and not after, and land that loses its straight-line
coverage is the drop of each cell's covered area.  Nothing can be newly
covered.  A third audit with another rule set (tpl-10min, walking only) checks
that methods present in one audit only are handled.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

pytest.importorskip("pyrosm")

import geoplan
from geoplan import compare
from geoplan.cli import main

try:
    from tests.browser import offline_chromium, render_html
except ImportError:
    from browser import offline_chromium, render_html

REMOVED = "Esplanadinpuisto"


def _audit(out: Path, **kw) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = geoplan.run_audit(geoplan.load_config(**kw))
        geoplan.write_audit(r, out, maps=False)
    return out, r


@pytest.fixture(scope="module")
def audits(tmp_path_factory, helsinki_audit):
    base = tmp_path_factory.mktemp("compare")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = helsinki_audit  # the session's audit of the bundled sample (tests/conftest.py)
        old = geoplan.write_audit(r, base / "audit-2024", maps=False)
    parks = r.study.parks
    assert (parks["name"] == REMOVED).sum() == 1
    layer = parks[parks["name"] != REMOVED][["name", "id", "geometry"]].to_crs(4326)
    layer.to_file(base / "parks-2025.gpkg", driver="GPKG")
    new, r2 = _audit(base / "audit-2025", parks=str(base / "parks-2025.gpkg"))
    return {"old": old, "new": new, "base": base, "r_old": r, "r_new": r2}


@pytest.fixture(scope="module")
def comp(audits):
    return compare.compare_audits(audits["old"], audits["new"])


@pytest.fixture(scope="module")
def cells(audits):
    a = gpd.read_file(audits["old"] / "geoplan.gpkg", layer="residential_cells").set_index("cell_id")
    b = gpd.read_file(audits["new"] / "geoplan.gpkg", layer="residential_cells").set_index("cell_id")
    assert a.index.equals(b.index) and np.allclose(a["area_m2"], b["area_m2"])  # same land, same cells
    return a, b


def test_land_no_longer_covered_on_foot_matches_the_cells(comp, cells):
    a, b = cells
    lost = a["net_covered"].astype(bool) & ~b["net_covered"].astype(bool)
    gained = ~a["net_covered"].astype(bool) & b["net_covered"].astype(bool)
    assert lost.sum() > 0 and gained.sum() == 0
    ch = comp.change_by_unit[comp.change_by_unit["method"] == "network"].set_index("unit_id")
    by_unit = a[lost].groupby("unit_id")["area_m2"].sum()
    for uid, row in ch.iterrows():
        assert row["newly_uncovered_m2"] == pytest.approx(by_unit.get(uid, 0.0), rel=1e-9, abs=1e-6)
        assert row["newly_covered_m2"] == 0.0
    res = a[lost].groupby("unit_id")["residents"].sum()
    assert ch["newly_uncovered_residents"].sum() == pytest.approx(res.sum(), rel=1e-6)


def test_land_no_longer_covered_by_straight_line_matches_the_cells(comp, cells):
    a, b = cells
    drop = (a["euc_cov_m2"] - b["euc_cov_m2"]).clip(lower=0)
    assert drop.sum() > 100 and (b["euc_cov_m2"] - a["euc_cov_m2"]).max() < 1e-6  # a park removed: only losses
    ch = comp.change_by_unit[comp.change_by_unit["method"] == "euclidean"].set_index("unit_id")
    by_unit = drop.groupby(a["unit_id"]).sum()
    for uid, row in ch.iterrows():
        assert row["newly_uncovered_m2"] == pytest.approx(by_unit.get(uid, 0.0), rel=1e-6, abs=1e-3)
        assert row["newly_covered_m2"] == pytest.approx(0.0, abs=1e-3)


def test_coverage_change_equals_the_lost_land(comp, audits):
    sa = json.loads((audits["old"] / "summary.json").read_text())
    sb = json.loads((audits["new"] / "summary.json").read_text())
    for m in ("euclidean", "network"):
        fa = next(f for f in sa["park_coverage"] if f["method"] == m and f["scope"] == "all" and f["tier"] == "all")
        fb = next(f for f in sb["park_coverage"] if f["method"] == m and f["scope"] == "all" and f["tier"] == "all")
        pp = comp.coverage_change(m, "all", "land")
        assert pp == pytest.approx(fb["land_pct"] - fa["land_pct"], abs=1e-5)
        assert pp < 0
        lost = comp.change_by_unit[comp.change_by_unit["method"] == m]["newly_uncovered_m2"].sum()
        assert pp == pytest.approx(-100 * lost / fa["land_m2"], abs=1e-4)


def test_per_unit_change_and_targets(comp, audits):
    u = comp.by_unit[(comp.by_unit["scope"] == "all") & (comp.by_unit["tier"] == "all")]
    changed = u[u["land_pct_change_pp"].abs() > 1e-9]
    lost_units = set(comp.change[comp.change["change_kind"] == "newly_uncovered"]["unit_id"])
    assert set(changed["unit_id"]) == lost_units and len(lost_units) >= 1
    assert (changed["land_pct_change_pp"] < 0).all()
    t = comp.targets.iloc[0]
    assert t["measured_change_pp"] == pytest.approx(comp.coverage_change("euclidean"), abs=1e-6)
    assert bool(t["met_old"]) and bool(t["met_new"])
    assert list(comp.settings["setting"]) == ["inputs.parks"]
    ind = comp.indicators.set_index("key")
    assert ind.loc["parks.counted", "value_change"] == -1


def test_identical_audits_show_no_change(audits):
    # the same folder is refused; a copy of it shows no change at all
    import shutil

    copy = audits["base"] / "audit-2024-copy"
    if not copy.exists():
        shutil.copytree(audits["old"], copy)
    c = compare.compare_audits(audits["old"], copy)
    assert len(c.change) == 0
    assert (c.change_by_unit[["newly_covered_m2", "newly_uncovered_m2"]] == 0).all().all()
    assert c.overall["land_pct_change_pp"].abs().max() == 0
    assert c.settings.empty
    with pytest.raises(geoplan.UsageError):
        compare.compare_audits(audits["old"], audits["old"])


@pytest.mark.slow
def test_other_rules_methods_in_one_audit_only(audits):
    other, _ = _audit(audits["base"] / "audit-tpl", rules="tpl-10min")
    c = compare.compare_audits(audits["old"], other)
    assert c.methods == ["network"]
    assert set(c.change["method"]) <= {"network"}
    assert "rules" in set(c.settings["setting"])
    euc = c.overall[c.overall["method"] == "euclidean"]
    assert euc["land_pct_new"].isna().all() and euc["land_pct_old"].notna().all()
    # 805 m walks cover more than 500 m: land is newly covered on foot, and it matches the cells
    a = gpd.read_file(audits["old"] / "geoplan.gpkg", layer="residential_cells").set_index("cell_id")
    b = gpd.read_file(other / "geoplan.gpkg", layer="residential_cells").set_index("cell_id")
    gained = ~a["net_covered"].astype(bool) & b["net_covered"].astype(bool)
    got = c.change_by_unit["newly_covered_m2"].sum()
    assert got == pytest.approx(b.loc[gained, "area_m2"].sum(), rel=1e-9, abs=1e-6)


@pytest.mark.slow
def test_cli_writes_the_comparison_folder(audits, tmp_path, capsys):
    out = tmp_path / "cmp"
    rc = main(["compare", str(audits["old"]), str(audits["new"]), "--out", str(out), "--lang", "zh", "-q"])
    assert rc == 0
    for f in ("index.html", "comparison.xlsx", "comparison.gpkg", "comparison.json", "geoplan.log",
              "change_map.html", "maps/coverage_change_network.png", "maps/coverage_change_euclidean.png",
              "tables/park_coverage_change.csv", "tables/coverage_change_by_unit.csv", "tables/targets_change.csv"):
        assert (out / f).is_file(), f
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "两期体检评估对比" in page and "不再覆盖" in page and 'lang="zh-CN"' in page
    # CSV columns stay identifiers; the workbook's headers are Chinese
    assert pd.read_csv(out / "tables" / "park_coverage_change.csv").columns[3] == "land_pct_old"
    from openpyxl import load_workbook

    ws = load_workbook(out / "comparison.xlsx", read_only=True)["park_coverage_change"]
    head = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert "前期居住用地覆盖率（%）" in head and "居住用地覆盖率变化（百分点）" in head
    # the GeoPackage opens with clear layer and field names
    import pyogrio

    layers = {n for n, _ in pyogrio.list_layers(out / "comparison.gpkg")}
    assert layers == {"coverage_change", "units"}
    g = gpd.read_file(out / "comparison.gpkg", layer="coverage_change")
    assert list(g.columns) == ["method", "change_kind", "unit_id", "unit_name", "area_m2", "residents", "geometry"]
    assert set(g["change_kind"]) == {"newly_uncovered"}
    # nothing printed with -q; the existing folder is refused without --overwrite (usage error)
    assert capsys.readouterr().out == ""
    assert main(["compare", str(audits["old"]), str(audits["new"]), "--out", str(out), "-q"]) == 2
    assert main(["compare", str(audits["old"]), str(tmp_path), "--out", str(tmp_path / "x"), "-q"]) == 3
    assert not (tmp_path / "x").exists()


def test_cli_prints_the_headline(audits, tmp_path, capsys):
    rc = main(["compare", str(audits["old"]), str(audits["new"]), "--out", str(tmp_path / "c"), "--no-maps"])
    assert rc == 0
    out = capsys.readouterr().out
    # 92.05 %: the walking network of OpenStreetMap's access rules (shared foot and cycle paths count, #17)
    assert re.search(r"walking network: land covered 92\.05 % → \d+\.\d\d % \(-\d+\.\d\d pp\)", out)
    assert not (tmp_path / "c" / "maps").exists()


@pytest.mark.browser
@pytest.mark.slow
def test_comparison_renders_offline(audits, tmp_path):
    out = geoplan.presenters.compare.write_comparison(compare.compare_audits(audits["old"], audits["new"]), tmp_path / "cmp", lang="en",
                                   quiet=True)
    with offline_chromium() as d:
        d.get((out / "index.html").resolve().as_uri())
        imgs = d.execute_script("return Array.from(document.images).map(i => i.complete && i.naturalWidth)")
        errors = [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"]
    assert imgs and all(w and w > 100 for w in imgs) and not errors
    r = render_html(out / "change_map.html")
    assert r.leaflet_loaded and not r.js_errors and not r.external_requests and r.interactive_paths > 5
