"""What-if: the quick answer equals a full re-run with the proposal added (real Haidian data)."""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import geoplan
from geoplan.whatif import build_state, load_state, save_state, what_if

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CAU = SHARED / "osm" / "haidian_cau_campus.osm"

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def cau(haidian_audit):
    """The session's CAU audit (tests/conftest.py: life circles, compounds, fairness; skips without ../shared)."""
    return haidian_audit(CAU.name)


@pytest.fixture(scope="module")
def state(cau):
    return build_state(cau)


def _rerun_parks(cau, proposed: gpd.GeoDataFrame, with_lifecircle: bool = False):
    """Full re-run of the park audit and the compound analysis with the proposed parks added."""
    from geoplan.audit import AuditResult, run_park_audit
    from geoplan.compounds import run_compounds

    st = cau.study
    raw = gpd.GeoDataFrame(pd.concat([st.parks, proposed.to_crs(st.crs)], ignore_index=True), geometry="geometry", crs=st.crs)
    st2 = dataclasses.replace(st, parks=raw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cov, pop, siting = run_park_audit(cau.config, st2)
        r2 = AuditResult(cau.config, st2, pop, cov, siting,
                         analyses={"lifecircle": cau.analyses["lifecircle"]} if with_lifecircle else {})
        return cov, run_compounds(r2)


def _uncovered_spot(cau) -> shapely.Point:
    cells = cau.parks.cells
    unc = cells[~cells["net_covered"] & (cells["residents"] > 0)]
    return unc.geometry.iloc[len(unc) // 2].centroid


def _assert_same(a: np.ndarray, b: np.ndarray) -> None:
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert (np.isinf(a) == np.isinf(b)).all()
    f = np.isfinite(a)
    assert np.allclose(a[f], b[f], atol=1e-6)


def _same_value(a, b, where="state"):
    """Deep equality of two states (frames, arrays, dataclasses), for the data-only round trip."""
    if isinstance(a, gpd.GeoDataFrame) or isinstance(a, pd.DataFrame):
        assert type(a) is type(b), where
        pd.testing.assert_frame_equal(a, b, check_exact=True, obj=where)
        if isinstance(a, gpd.GeoDataFrame):
            assert a.crs == b.crs and a.geometry.name == b.geometry.name, where
        return
    if isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True, obj=where)
        return
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape, where
        if a.dtype == object:
            assert all(x == y if not isinstance(x, shapely.Geometry) else shapely.equals_exact(x, y, 0)
                       for x, y in zip(a.ravel(), b.ravel())), where
        else:
            assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
        return
    if isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            _same_value(a[k], b[k], f"{where}[{k!r}]")
        return
    if isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            _same_value(x, y, f"{where}[{i}]")
        return
    if isinstance(a, geoplan.network.WalkNetwork):
        for f in ("node_id", "x", "y", "edges", "main_share"):
            _same_value(getattr(a, f), getattr(b, f), f"{where}.{f}")
        assert (a.graph != b.graph).nnz == 0 and a.crs == b.crs, where
        return
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            if f.name != "_poly_tree":
                _same_value(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
        return
    if isinstance(a, shapely.Geometry):
        assert shapely.equals_exact(a, b, 0), where
        return
    if isinstance(a, float) and np.isnan(a):
        assert isinstance(b, float) and np.isnan(b), where
        return
    if type(a).__name__ == "TagRule":
        assert a.spec == b.spec, where
        return
    assert a == b, where


def test_state_round_trip(cau, state, tmp_path):
    p = save_state(cau, tmp_path)
    assert p.name == "whatif-state.json" and (tmp_path / "whatif-state.npz").stat().st_size > 10_000
    assert not list(tmp_path.glob("*.pkl"))
    s2 = load_state(tmp_path)
    assert set(s2.models) == {"plain", "compounds"}
    _same_value(build_state(cau), s2)  # every field, frame, array and geometry, exactly
    assert s2.models["compounds"].network.n_edges == state.models["compounds"].network.n_edges
    with pytest.raises(geoplan.DataError):
        load_state(tmp_path / "nowhere")


class _Payload:
    """A pickle that would write a marker file when unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


def test_crafted_pickle_in_an_audit_folder_is_refused_not_run(cau, tmp_path, capsys):
    import pickle

    from geoplan.cli import main

    c = _uncovered_spot(cau)
    park = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.box(c.x + 40, c.y + 40, c.x + 120, c.y + 120)],
                            crs=cau.study.crs)
    f = tmp_path / "parks.geojson"
    park.to_crs("EPSG:4326").to_file(f, driver="GeoJSON")
    marker = tmp_path / "MARKER"
    # a folder from elsewhere holding only a crafted state.pkl
    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "state.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    assert main(["whatif", str(evil), "--parks", str(f), "--out", str(tmp_path / "o1"), "-q"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error:") and "pickle" in err and "Traceback" not in err and len(err.strip().splitlines()) <= 2
    assert not marker.exists()
    # a crafted pickle given directly, and beside a good state: never opened
    assert main(["whatif", str(evil / "state.pkl"), "--parks", str(f), "--out", str(tmp_path / "o2"), "-q"]) == 3
    good = tmp_path / "good"
    good.mkdir()
    save_state(cau, good)
    (good / "state.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    assert main(["whatif", str(good), "--parks", str(f), "--out", str(tmp_path / "o3"), "-q"]) == 0
    assert not marker.exists()
    # pickled arrays smuggled into the npz are refused (allow_pickle=False), not run
    npz = good / "whatif-state.npz"
    with np.load(npz, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    first = sorted(arrays)[0]
    arrays[first] = np.array([_Payload(marker)], dtype=object)
    np.savez(npz, **arrays, allow_pickle=True)
    import hashlib, json  # noqa: E401 - the attacker also fixes the recorded checksum

    doc = json.loads((good / "whatif-state.json").read_text(encoding="utf-8"))
    doc["arrays"]["sha256"] = hashlib.sha256(npz.read_bytes()).hexdigest()
    (good / "whatif-state.json").write_text(json.dumps(doc), encoding="utf-8")
    assert main(["whatif", str(good), "--parks", str(f), "--out", str(tmp_path / "o4"), "-q"]) == 3
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error:")
    assert not marker.exists()


def test_state_checked_against_its_audit(cau, tmp_path):
    import json

    folder = tmp_path / "audit"
    folder.mkdir()
    (folder / "summary.json").write_text('{"a": 1}', encoding="utf-8")
    inp = tmp_path / "parks.geojson"
    inp.write_text("{}", encoding="utf-8")
    from geoplan.whatif.store import file_sha256

    save_state(cau, folder, inputs={"parks": {"path": str(inp), "sha256": file_sha256(inp)}})
    assert isinstance(load_state(folder), geoplan.whatif.WhatIfState)
    doc_path = folder / "whatif-state.json"
    doc = json.loads(doc_path.read_text(encoding="utf-8"))
    # an input changed since the audit
    inp.write_text('{"changed": 1}', encoding="utf-8")
    with pytest.raises(geoplan.DataError, match="input parks"):
        load_state(folder)
    inp.write_text("{}", encoding="utf-8")
    # another audit's summary
    (folder / "summary.json").write_text('{"a": 2}', encoding="utf-8")
    with pytest.raises(geoplan.DataError, match="does not belong to this audit"):
        load_state(folder)
    (folder / "summary.json").write_text('{"a": 1}', encoding="utf-8")
    # another version of geoplan
    doc_path.write_text(json.dumps({**doc, "geoplan": "0.0.1"}), encoding="utf-8")
    with pytest.raises(geoplan.DataError, match="geoplan '0.0.1'"):
        load_state(folder)
    # arrays changed after the audit
    doc_path.write_text(json.dumps(doc), encoding="utf-8")
    npz = folder / "whatif-state.npz"
    saved = npz.read_bytes()
    npz.write_bytes(saved + b"x")
    with pytest.raises(geoplan.DataError, match="checksum"):
        load_state(folder)
    npz.write_bytes(saved)
    # a class that is not a state's is refused by name
    doc_path.write_text(json.dumps(doc).replace('"cls": "Snapped"', '"cls": "os.system"'), encoding="utf-8")
    assert "os.system" in doc_path.read_text(encoding="utf-8")
    with pytest.raises(geoplan.DataError, match="unknown class"):
        load_state(folder)


def test_proposed_park_equals_full_rerun(cau, state):
    c = _uncovered_spot(cau)
    park = gpd.GeoDataFrame({"name": ["proposed pocket park"]}, geometry=[shapely.box(c.x + 40, c.y + 40, c.x + 120, c.y + 120)],
                            crs=cau.study.crs).to_crs("EPSG:4326")
    t = time.perf_counter()
    res = what_if(state, parks=park)
    elapsed = time.perf_counter() - t
    assert elapsed < 3.0
    cov2, comp2 = _rerun_parks(cau, park)
    for tier in [t.id for t in cau.config.rules.tiers]:
        _assert_same(res.cell_dist["plain"][f"net_dist:{tier}"], cov2.cells[f"net_dist:{tier}"])
        _assert_same(res.cell_dist["compounds"][f"net_dist:{tier}"], comp2.coverage.cells[f"net_dist:{tier}"])
    o = res.overall.set_index("model")
    assert o.loc["plain", "residents_pct_after"] == pytest.approx(cov2.coverage("network", measure="residents"))
    assert o.loc["plain", "land_pct_after"] == pytest.approx(cov2.coverage("network"))
    assert o.loc["compounds", "residents_pct_after"] == pytest.approx(comp2.coverage.coverage("network", measure="residents"))
    assert o.loc["plain", "residents_pct_before"] == pytest.approx(cau.parks.coverage("network", measure="residents"))
    assert o.loc["plain", "new_residents"] > 0 and o.loc["plain", "lost_residents"] == 0
    # per unit, newly served residents add up to the whole
    bu = res.by_unit[res.by_unit["model"] == "plain"]
    assert bu["new_residents"].sum() == pytest.approx(o.loc["plain", "new_residents"])
    assert len(res.cells) and set(res.cells["status"]) == {"new"}


def test_proposed_park_touching_an_existing_one_is_merged(cau, state):
    parks = cau.parks.parks
    small = parks[parks["tier"].notna()].sort_values("area_m2").iloc[0]
    _, y0, x1, _ = small.geometry.bounds
    add = gpd.GeoDataFrame(geometry=[shapely.box(x1, y0, x1 + 60, y0 + 60)], crs=cau.study.crs)  # no attributes at all
    res = what_if(state, parks=add)
    assert any("merged" in n for n in res.notes)
    cov2, comp2 = _rerun_parks(cau, add)
    for tier in [t.id for t in cau.config.rules.tiers]:
        _assert_same(res.cell_dist["plain"][f"net_dist:{tier}"], cov2.cells[f"net_dist:{tier}"])
        _assert_same(res.cell_dist["compounds"][f"net_dist:{tier}"], comp2.coverage.cells[f"net_dist:{tier}"])


def _proposed_gates(cau) -> gpd.GeoDataFrame:
    """Two gates: one in the wall of a residential compound with no gate (the one nearest to a park
    entrance), one in the wall of the compound where walls cost the most residents their park, at
    the outline point nearest to where those residents met the street through the wall."""
    from shapely.ops import nearest_points

    comp = cau.analyses["compounds"]
    p = comp.compounds.polygons
    acc = shapely.union_all(cau.parks.access.geometry.values)
    ungated = p[(p["n_gates"] == 0) & (p["kind"] == "residential")]
    poly = ungated.assign(d=ungated.geometry.distance(acc)).sort_values("d").geometry.iloc[0]
    pts = [nearest_points(poly.exterior, acc)[0]]
    lost = comp.cells[comp.cells["change"] == "lost"]
    cid = lost.groupby("in_compound")["residents"].sum().idxmax()
    poly = p.set_index("compound_id").geometry.loc[cid]
    net = cau.study.network
    s = net.snap(shapely.point_on_surface(lost[lost["in_compound"] == cid].geometry.values))
    met = shapely.centroid(shapely.multipoints(shapely.line_interpolate_point(net.edges.geometry.values[s.edge], s.along)))
    pts.append(nearest_points(poly.exterior, met)[0])
    g = gpd.GeoDataFrame({"name": ["gate A", "gate B"]}, geometry=pts, crs=cau.study.crs)
    # away from the crossings already there (a gate within 2 m of one would replace it)
    old = np.asarray(comp.compounds.gates.geometry.values, dtype=object)
    assert min(shapely.distance(p_, old).min() for p_ in pts) > 2.0
    return g


def test_proposed_gates_equal_full_rerun(cau, state, tmp_path):
    from geoplan.compounds import run_compounds

    gates = _proposed_gates(cau)
    t = time.perf_counter()
    res = what_if(state, gates=gates)
    assert time.perf_counter() - t < 5.0
    assert len(res.proposals["gates"]) >= 2
    path = tmp_path / "gates.geojson"
    gates.to_crs("EPSG:4326").to_file(path, driver="GeoJSON")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = run_compounds(cau, {**cau.config.extra.get("compounds", {}), "gates": str(path)})
    for tier in [t.id for t in cau.config.rules.tiers]:
        _assert_same(res.cell_dist["compounds"][f"net_dist:{tier}"], full.coverage.cells[f"net_dist:{tier}"])
        # the plain model does not change
        _assert_same(res.cell_dist["plain"][f"net_dist:{tier}"], cau.parks.cells[f"net_dist:{tier}"])
    lc = cau.analyses["lifecircle"]
    after = res.origin_dist["compounds"]
    for c in lc.rules.category_ids:
        _assert_same(after[f"dist:{c}"], full.lc_origins[f"dist:{c}"])
    o = res.overall.set_index("model")
    assert o.loc["compounds", "residents_pct_after"] == pytest.approx(full.coverage.coverage("network", measure="residents"))
    assert o.loc["compounds", "new_residents"] > 50  # gate B gives back the park that walls took
    assert o.loc["plain", "new_residents"] == 0
    assert res.lifecircle is not None and set(res.lifecircle["model"]) == {"plain", "compounds"}


def test_proposed_facility_equals_full_rerun(cau, state):
    from geoplan.compounds.result import snap_facilities_compound
    from geoplan.lifecircle import life_circle, snap_facilities

    lc = cau.analyses["lifecircle"]
    c = _uncovered_spot(cau)
    fac = gpd.GeoDataFrame({"category": ["community_health", "kindergarten"]},
                           geometry=[c, shapely.Point(c.x + 200, c.y - 150)], crs=cau.study.crs)
    res = what_if(state, facilities=fac)
    # full re-run: every facility plus the proposed ones, all categories, plain and compound models
    net = cau.study.network
    o = lc.origins[["origin_id", "residents", "unit_id", "unit_name", "geometry"]]
    new = snap_facilities(fac.assign(fac_id=[10**6, 10**6 + 1], source="proposed"), net)
    allf = pd.concat([lc.facilities, new], ignore_index=True)
    full = life_circle(net, o, allf, lc.rules, search_limit_m=lc.settings.get("search_limit_m"))
    comp = cau.analyses["compounds"]
    allc = pd.concat([comp.lc_facilities, snap_facilities_compound(comp.cnet, new)], ignore_index=True)
    fullc = life_circle(comp.cnet.network, o, allc, lc.rules, search_limit_m=lc.settings.get("search_limit_m"),
                        origin_snap=comp.lc_origin_snap)
    for cat in lc.rules.category_ids:
        _assert_same(res.origin_dist["plain"][f"dist:{cat}"], full[f"dist:{cat}"])
        _assert_same(res.origin_dist["compounds"][f"dist:{cat}"], fullc[f"dist:{cat}"])
    for lv in lc.rules.levels:  # completeness as the life-circle analysis defines it
        assert (res.origin_dist["plain"][f"complete:{lv.id}"].to_numpy() == full[f"complete:{lv.id}"].to_numpy()).all()
    top = lc.rules.levels[-1].id
    allrow = res.lifecircle[(res.lifecircle["unit_id"] == "all") & (res.lifecircle["level"] == top) & (res.lifecircle["model"] == "plain")]
    assert allrow["complete_after_pct"].iloc[0] == pytest.approx(100 * np.average(full[f"complete:{top}"], weights=full["residents"]))


def test_whatif_command_line(cau, tmp_path):
    from geoplan.cli import main

    audit = tmp_path / "audit"
    audit.mkdir()
    save_state(cau, audit)
    c = _uncovered_spot(cau)
    park = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.box(c.x + 40, c.y + 40, c.x + 120, c.y + 120)], crs=cau.study.crs)
    f = tmp_path / "parks.geojson"
    park.to_crs("EPSG:4326").to_file(f, driver="GeoJSON")
    out = tmp_path / "out"
    assert main(["whatif", str(audit), "--parks", str(f), "--out", str(out), "-q", "--lang", "zh"]) == 0
    assert (out / "tables" / "whatif_by_unit.csv").exists() and (out / "whatif.xlsx").exists()
    assert (out / "map.html").exists() and (out / "whatif.gpkg").exists()
    by_unit = pd.read_csv(out / "tables" / "whatif_by_unit.csv")
    assert by_unit["new_residents"].sum() > 0
    # an existing output folder is refused, nothing proposed is a usage error
    assert main(["whatif", str(audit), "--parks", str(f), "--out", str(out), "-q"]) == 2
    assert main(["whatif", str(audit), "--out", str(tmp_path / "o2"), "-q"]) == 2
    assert main(["whatif", str(tmp_path / "missing"), "--parks", str(f), "--out", str(tmp_path / "o3"), "-q"]) == 3


def test_whatif_datum_of_a_proposal_is_honoured(cau, tmp_path):
    """`geoplan whatif --datum parks=gcj02`: a park drawn on an AMap basemap (GCJ-02) gives the WGS 84 park's answer (#14 item 3)."""
    from geoplan.cli import main
    from geoplan.sources.datum import wgs84_to_gcj02

    audit = tmp_path / "audit"
    audit.mkdir()
    save_state(cau, audit)
    c = _uncovered_spot(cau)
    wgs = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.box(c.x + 40, c.y + 40, c.x + 120, c.y + 120)],
                           crs=cau.study.crs).to_crs("EPSG:4326")
    gcj = wgs.copy()
    gcj["geometry"] = shapely.transform(wgs.geometry.values, lambda xy: np.column_stack(wgs84_to_gcj02(xy[:, 0], xy[:, 1])))
    # the offset the AMap planner's file carries in Haidian: some 500 m (independently, on the ellipsoid)
    from pyproj import Geod

    (x0, y0), (x1, y1) = shapely.get_coordinates(wgs.geometry.iloc[0])[0], shapely.get_coordinates(gcj.geometry.iloc[0])[0]
    assert 300 < Geod(ellps="WGS84").inv(x0, y0, x1, y1)[2] < 800
    files = {k: tmp_path / f"{k}.geojson" for k in ("wgs", "gcj")}
    wgs.to_file(files["wgs"], driver="GeoJSON")
    gcj.to_file(files["gcj"], driver="GeoJSON")
    runs = {"wgs": ["--parks", str(files["wgs"])], "declared": ["--parks", str(files["gcj"]), "--datum", "parks=gcj02"],
            "undeclared": ["--parks", str(files["gcj"])]}
    got = {}
    for k, extra in runs.items():
        out = tmp_path / f"out-{k}"
        assert main(["whatif", str(audit), *extra, "--out", str(out), "-q", "--no-maps"]) == 0, k
        got[k] = pd.read_csv(out / "tables" / "whatif_by_unit.csv")
    assert got["wgs"]["new_residents"].sum() > 0
    pd.testing.assert_frame_equal(got["declared"], got["wgs"], check_exact=False, rtol=1e-6)  # converted back
    assert not got["undeclared"].equals(got["wgs"])  # taken at its label: ~500 m off, another answer


def test_fast_completeness_matches_the_life_circle_definition():
    from geoplan.lifecircle import completeness, load_lifecircle_rules
    from geoplan.whatif.proposal import _complete

    rules = load_lifecircle_rules("gb50180")
    rng = np.random.default_rng(7)
    n = 500
    dist = {c: rng.uniform(0, 1200, n) for c in rules.category_ids}
    dist[rules.required_ids[0]][::7] = np.inf
    table = pd.DataFrame({f"dist:{c}": v for c, v in dist.items()})
    ref = completeness(table, rules)
    fast = _complete(dist, rules)
    for lv in rules.levels:
        assert (fast[lv.id] == ref[f"complete:{lv.id}"].to_numpy()).all()
        assert 0 < fast[lv.id].sum() < n or lv.id != rules.levels[-1].id
