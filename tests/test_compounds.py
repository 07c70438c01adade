"""Walled compounds and gates: hand-worked blocks and the real Haidian campus extracts."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

import geoplan
from geoplan.compounds import compound_network, compound_snap, compounds_from_layers
from geoplan.compounds.extract import crossing_points, walled_share
from geoplan.network import Sources, multi_source, point_distances
from geoplan.parks import park_coverage, select_parks
from geoplan.residents import residential_cells

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CAU = SHARED / "osm" / "haidian_cau_campus.osm"
BUPT = SHARED / "osm" / "haidian_bupt_campus.osm"
CRS = "EPSG:32650"


# ---------------------------------------------------------------------------
# a hand-worked walled block
# ---------------------------------------------------------------------------
def _street_net(segments: list[tuple[tuple[float, float], tuple[float, float]]]) -> geoplan.WalkNetwork:
    """A network from straight segments (nodes at the segment ends, merged by coordinates)."""
    pts: dict = {}
    for a, b in segments:
        for p in (a, b):
            pts.setdefault(p, len(pts))
    xy = np.array(list(pts.keys()), dtype=float)
    u = [pts[a] for a, _ in segments]
    v = [pts[b] for _, b in segments]
    geoms = [shapely.LineString([a, b]) for a, b in segments]
    edges = gpd.GeoDataFrame({"u": u, "v": v, "length": [g.length for g in geoms], "highway": "footway", "name": None,
                              "osmid": np.arange(len(geoms))}, geometry=geoms, crs=CRS)
    return geoplan.WalkNetwork(np.arange(len(pts)) + 100, xy[:, 0], xy[:, 1], edges, CRS)


def _block_case(inner_path: bool = False, gate: bool = True):
    """A 100 m x 100 m walled block (0..100, 0..100) with one gate in its south wall at x = 40.

    Streets: south (y = -10), west (x = -10) and north (y = 120).  A park north of the
    north street is entered at (40, 120).  A home at (40, 90) is 30 m from the north
    street across the wall; through the gate it walks 90 m to the gate, 10 m to the
    south street, 50 m west, 130 m north and 50 m east: 330 m.  With a path inside the
    block from (40, 50) to the gate: 40 + 50 + 10 + 50 + 130 + 50 = 330 m too.
    """
    segs = [((-10, -10), (50, -10)), ((50, -10), (200, -10)),
            ((-10, -10), (-10, 120)),
            ((-10, 120), (50, 120)), ((50, 120), (200, 120))]
    if inner_path:  # a path inside the block, from its centre to the gate
        segs.append(((40, 50), (40, 0)))
    net = _street_net(segs)
    block = gpd.GeoDataFrame({"name": ["walled block"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=CRS)
    gates = gpd.GeoDataFrame({"kind": ["gate"]}, geometry=[shapely.Point(40, 0)], crs=CRS) if gate else None
    comp = compounds_from_layers(block, gates, net)
    park = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.box(20, 130, 80, 190)], crs=CRS)
    access = gpd.GeoDataFrame({"park_id": [1], "kind": ["gate"]}, geometry=[shapely.Point(40, 120)], crs=CRS)
    res = gpd.GeoDataFrame(geometry=[shapely.box(35, 85, 45, 95)], crs=CRS)
    units = gpd.GeoDataFrame({"unit_id": [1], "unit_name": ["U"]}, geometry=[shapely.box(-500, -500, 500, 500)], crs=CRS)
    cells = residential_cells(res, units, None, 25)
    cells["residents"] = 100.0
    return net, comp, park, access, cells


@pytest.mark.parametrize("inner_path", [False, True])
def test_hand_worked_walled_block_one_gate(inner_path):
    net, comp, park, access, cells = _block_case(inner_path)
    assert len(comp.polygons) == 1 and comp.polygons["n_gates"].iloc[0] == 1
    cn = compound_network(net, comp)
    home = shapely.point_on_surface(cells.geometry.values)
    assert shapely.equals_exact(home[0], shapely.Point(40, 90), 1e-6)
    cs = compound_snap(cn, home)
    assert cs.mode[0] == ("inner" if inner_path else "gate")
    rules = geoplan.load_rules({"name": "t", "tiers": [{"id": "a", "min_area_m2": 2000, "radius_m": 1000}]})
    parks = select_parks(park, rules)
    plain = park_coverage(cells, parks, rules, methods=("network",), network=net, access=access)
    walled = park_coverage(cells, parks, rules, methods=("network",), network=cn.network, access=access, snapped=cs.snapped)
    # through the wall: 30 m; through the gate: 90 (or 40 + 50 along the inner path) + 10 + 50 + 130 + 50
    assert plain.cells["net_dist"].iloc[0] == pytest.approx(30.0, abs=1e-6)
    assert walled.cells["net_dist"].iloc[0] == pytest.approx(330.0, abs=1e-6)
    # the same walk, independently: networkx on the compound network from the home's point of entry
    G = nx.Graph()
    N = cn.network
    for u, v, w in zip(N.edge_u, N.edge_v, N.edge_length):
        G.add_edge(int(u), int(v), weight=float(w))
    # the park entrance (40, 120) is 50 m along the north street from its west end
    west_end = int(np.nonzero((np.abs(N.x + 10) < 1e-9) & (np.abs(N.y - 120) < 1e-9))[0][0])
    e, a, off = int(cs.snapped.edge[0]), float(cs.snapped.along[0]), float(cs.snapped.offset[0])
    d_u = nx.shortest_path_length(G, west_end, int(N.edge_u[e]), weight="weight") + a
    d_v = nx.shortest_path_length(G, west_end, int(N.edge_v[e]), weight="weight") + N.edge_length[e] - a
    assert 50.0 + min(d_u, d_v) + off == pytest.approx(330.0, abs=1e-6)
    # a 300 m radius serves the home across the wall but not through the gate
    r300 = geoplan.load_rules({"name": "t", "tiers": [{"id": "a", "min_area_m2": 2000, "radius_m": 300}]})
    assert park_coverage(cells, parks, r300, methods=("network",), network=net, access=access).coverage("network") == 100.0
    assert park_coverage(cells, parks, r300, methods=("network",), network=cn.network, access=access,
                         snapped=cs.snapped).coverage("network") == 0.0


def test_compound_without_gate_falls_back_and_is_listed():
    net, comp, _, _, cells = _block_case(gate=False)
    assert list(comp.ungated()["name"]) == ["walled block"]
    cn = compound_network(net, comp)
    cs = compound_snap(cn, shapely.point_on_surface(cells.geometry.values))
    assert cs.mode[0] == "ungated"
    assert cs.snapped.offset[0] == pytest.approx(30.0)


def test_gate_on_a_street_needs_no_connector_and_split_keeps_distances():
    """A street crossing the wall is a gate (crossing); off-network gates split the paths they join
    without changing any distance between the original nodes."""
    net, comp, _, _, _ = _block_case(inner_path=True)
    cn = compound_network(net, comp)
    # the gate is the end node of the inside path: one connector, to the south street
    assert list(cn.connectors["compound_id"]) == [0]
    assert cn.connectors["length"].iloc[0] == pytest.approx(10.0)
    assert len(cn.pieces) == 2  # the south street was split where the gate's connector joins it, at (40, -10)
    src = Sources.at_nodes([0])
    d0 = multi_source(net, src, 1e9).dist
    d1 = multi_source(cn.network, src, 1e9).dist[: net.n_nodes]
    same = np.isfinite(d0)
    # the gate adds a way into the block only, so no distance between streets changes
    assert np.allclose(d0[same], d1[same])
    # a street crossing a compound outline is a gate
    road = _street_net([((-50, 50), (150, 50))])
    c2 = compounds_from_layers(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100)], crs=CRS), None, road)
    x = crossing_points(c2.polygons, road)
    assert len(x) == 2 and set(np.round(x.geometry.x)) == {0.0, 100.0}
    assert c2.polygons["n_gates"].iloc[0] == 2


def test_remap_carries_points_to_the_split_network():
    net = _street_net([((0, 0), (100, 0)), ((100, 0), (100, 100))])
    block = gpd.GeoDataFrame(geometry=[shapely.box(20, 5, 80, 60)], crs=CRS)
    gates = gpd.GeoDataFrame(geometry=[shapely.Point(50, 5)], crs=CRS)
    cn = compound_network(net, compounds_from_layers(block, gates, net))
    assert len(cn.pieces) == 2  # the street (0,0)-(100,0) was split at x = 50
    pts = np.array([shapely.Point(x, -3) for x in (10.0, 49.0, 51.0, 90.0)], dtype=object)
    s0 = net.snap(pts)
    s1 = cn.remap(s0)
    back = shapely.line_interpolate_point(cn.network.edges.geometry.values[s1.edge], s1.along)
    assert np.allclose(shapely.get_x(back), [10, 49, 51, 90])
    src = Sources.at_nodes([0])
    d0, _ = point_distances(net, multi_source(net, src, 1e9), s0)
    d1, _ = point_distances(cn.network, multi_source(cn.network, src, 1e9), s1)
    assert np.allclose(d0, d1)


def test_walled_share():
    poly = shapely.box(0, 0, 100, 100)
    wall = shapely.LineString([(0, 0), (100, 0), (100, 100)])
    assert walled_share([poly], [wall], 1.0)[0] == pytest.approx(0.5, abs=0.02)


# ---------------------------------------------------------------------------
# the real Haidian campus extracts
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cau(haidian_audit):
    """The session's CAU audit (tests/conftest.py: life circles, compounds, fairness; skips without ../shared)."""
    return haidian_audit(CAU.name)


@pytest.mark.shared
def test_cau_compounds_and_gates_from_osm(cau):
    c = cau.analyses["compounds"]
    p = c.compounds.polygons
    assert {"residential", "university"} <= set(p["kind"])
    assert (p["kind"] == "residential").sum() >= 10
    g = c.compounds.gates
    # mapped barrier=gate nodes of the campus are gates of its compounds, and crossings too
    assert {1785650238, 1785698843, 2621131365} <= set(g["osm_id"])
    assert (g["kind"] == "crossing").any()
    assert "emergency" not in set(g["kind"])
    assert 5671538340 not in set(g["osm_id"])  # entrance=emergency is not a gate
    # compounds without gates are listed
    assert len(c.compounds.ungated()) >= 1
    assert set(c.tables()["compounds_ungated"]["compound_id"]) == set(c.compounds.ungated()["compound_id"])


@pytest.mark.shared
def test_cau_compound_snapping_never_through_the_wall(cau):
    c = cau.analyses["compounds"]
    cn = c.cnet
    pts = shapely.point_on_surface(cau.parks.cells.geometry.values)
    cs = c.cell_snap
    nearest = cn.network.snap(pts)
    # restricted snapping is never nearer than the nearest street
    assert (cs.snapped.offset >= nearest.offset - 1e-6).all()
    inner = cs.mode == "inner"
    assert inner.sum() > 100
    # homes on inner paths snap to paths inside their own compound
    ec = set(zip(cn.edge_compound["edge"], cn.edge_compound["compound_id"]))
    assert all((int(e), int(k)) in ec for e, k in zip(cs.snapped.edge[inner], cs.compound_id[inner]))
    # homes walking to a gate: at least the straight distance to it
    gate = cs.mode == "gate"
    gp = cn.gate_pos.drop_duplicates("gate_id").set_index("gate_id")
    gx = gp.loc[cs.gate_id[gate], ["x", "y"]].to_numpy()
    straight = np.hypot(shapely.get_x(pts[gate]) - gx[:, 0], shapely.get_y(pts[gate]) - gx[:, 1])
    assert (cs.snapped.offset[gate] >= straight - 1e-6).all()


@pytest.mark.shared
def test_cau_with_and_without_compounds_side_by_side(cau):
    c = cau.analyses["compounds"]
    o = c.coverage_overall
    row = o[(o["scope"] == "all") & (o["tier"] == "all")].iloc[0]
    # the "without" column is the audit's own figure
    assert row["residents_pct"] == pytest.approx(cau.parks.coverage("network", measure="residents"))
    assert row["land_pct"] == pytest.approx(cau.parks.coverage("network"))
    assert row["residents_pct_compounds"] == pytest.approx(c.coverage.coverage("network", measure="residents"))
    assert 0 < row["residents_pct_compounds"] <= 100
    # per unit, both columns and their difference; the gate-links split adds up
    u = c.coverage_by_unit
    assert {"land_pct", "land_pct_compounds", "land_diff_pp", "residents_pct_links"} <= set(u.columns)
    ok = u["residents_pct"].notna()
    assert np.allclose(u.loc[ok, "residents_links_pp"] + u.loc[ok, "residents_walls_pp"], u.loc[ok, "residents_diff_pp"])
    # life circles with and without
    lo = c.lifecircle_overall
    assert list(lo["level"]) == [lv.id for lv in cau.analyses["lifecircle"].rules.levels]
    top = lo.iloc[-1]
    assert top["complete_pct"] == pytest.approx(cau.analyses["lifecircle"].complete_pct())
    assert np.isfinite(top["score_pct_compounds"])
    s = c.summary()
    assert s["compounds"] == len(c.compounds.polygons) and "largest_compound_differences" in s
    from geoplan import presenters

    assert "→" in presenters.headline(c, "en") and "→" in presenters.headline(c, "zh")
    layers = presenters.map_layers(c, "zh")
    assert len(layers) >= 2


@pytest.mark.shared
def test_bupt_compounds_without_parks(haidian_audit):
    r = haidian_audit(BUPT.name)
    c = r.analyses["compounds"]
    assert len(c.compounds.polygons) >= 3
    a, b = c.coverage_pair()
    assert a == 0.0 and b == 0.0  # no parks: nobody is served either way
    assert set(c.cells["mode"]) <= {"open", "ungated", "inner", "gate", "on_path"}
