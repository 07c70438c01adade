"""Snapping that respects the network's pieces: homes and parks join the main network, not a detached fragment."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import geoplan
from geoplan.network import MAIN_PIECE_SHARE, Sources, main_pieces, multi_source, point_distances
from geoplan.parks import park_coverage
from geoplan.parks.fragments import fragment_homes, fragment_homes_by_unit, fragment_pieces
from geoplan.residents import residential_cells

CRS = "EPSG:32650"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CAU = SHARED / "osm" / "haidian_cau_campus.osm"


def _net(segments):
    pts: dict = {}
    for a, b in segments:
        for p in (a, b):
            pts.setdefault(p, len(pts))
    xy = np.array(list(pts.keys()), dtype=float)
    geoms = [shapely.LineString([a, b]) for a, b in segments]
    edges = gpd.GeoDataFrame({"u": [pts[a] for a, _ in segments], "v": [pts[b] for _, b in segments],
                              "length": [g.length for g in geoms], "highway": "footway", "name": None,
                              "osmid": np.arange(len(geoms))}, geometry=geoms, crs=CRS)
    return geoplan.WalkNetwork(np.arange(len(pts)) + 1, xy[:, 0], xy[:, 1], edges, CRS)


def _fragment_case():
    """A street along y = 0 from x = 0 to 400 (20 segments of 20 m), joined to one along
    y = 200 (23 nodes in all) and, between them, a detached 60 m footway from (100, 40) to
    (160, 40) (2 nodes, under 20 % of 23).

    A home at (130, 45) is 5 m from the footway and 45 m from the street.  Snapped to
    the nearest edge it would sit on the footway, which reaches nothing: no park is
    within any walk.  Snapped to the main network it walks 45 m to (130, 0), then
    170 m east to a park entrance at (300, 0): 215 m.
    """
    segs = [((20.0 * i, 0.0), (20.0 * (i + 1), 0.0)) for i in range(20)]
    segs += [((0.0, 0.0), (0.0, 200.0)), ((0.0, 200.0), (400.0, 200.0))]  # a street round the north, far away
    segs.append(((100.0, 40.0), (160.0, 40.0)))
    return _net(segs)


def test_main_pieces_is_the_one_rule():
    net = _fragment_case()
    comp, main = main_pieces(net)
    assert main.sum() == 1 and len(main) == 2
    assert np.array_equal(net.main_edges(), np.r_[np.ones(22, bool), False])
    # the compound model uses the same rule (no second definition of "the main network")
    import geoplan.compounds.snapping as cs

    assert not hasattr(cs, "_main_pieces") and not hasattr(cs, "MAIN_PIECE_SHARE")
    # share 0: every piece is main
    assert main_pieces(net, 0.0)[1].all()
    assert MAIN_PIECE_SHARE == net.main_share


def test_hand_worked_home_whose_nearest_street_is_a_fragment():
    net = _fragment_case()
    home = np.array([shapely.Point(130, 45)], dtype=object)
    s = net.snap(home)
    assert net.main_edges()[s.edge[0]]
    assert s.offset[0] == pytest.approx(45.0)
    assert s.along[0] == pytest.approx(10.0)  # edge (120, 0)-(140, 0)
    assert s.on_fragment[0] and s.fragment_edge[0] == 22 and s.fragment_offset[0] == pytest.approx(5.0)
    park = Sources.on_edges(net.snap(np.array([shapely.Point(300, 0)], dtype=object)))
    reach = multi_source(net, park, 1000.0)
    d, _ = point_distances(net, reach, s)
    assert d[0] == pytest.approx(45.0 + 170.0)
    # the old rule (nearest edge of any piece) strands the home on the fragment
    s0 = net.snap(home, share=0.0)
    assert s0.edge[0] == 22 and s0.offset[0] == pytest.approx(5.0) and not s0.on_fragment.any()
    assert np.isinf(point_distances(net, reach, s0)[0][0])
    # a point whose nearest street is on the main network is untouched
    s2 = net.snap(np.array([shapely.Point(250, 10)], dtype=object))
    assert s2.offset[0] == pytest.approx(10.0) and not s2.on_fragment.any()


def test_park_access_point_on_a_fragment_joins_the_main_network():
    """A park whose only entrance is on the detached footway still serves: its walk
    starts 40 m away on the street (130, 0), not nowhere."""
    net = _fragment_case()
    parks = gpd.GeoDataFrame({"park_id": [1], "name": ["P"], "area_m2": [6000.0], "tier": ["park-5000"],
                              "radius_m": [500.0]}, geometry=[shapely.box(100, 40, 160, 140)], crs=CRS)
    access = gpd.GeoDataFrame({"park_id": [1], "kind": ["crossing"]}, geometry=[shapely.Point(130, 40)], crs=CRS)
    res = gpd.GeoDataFrame(geometry=[shapely.box(290, -24, 298, -20)], crs=CRS)  # one cell, ~22 m south of the street
    units = gpd.GeoDataFrame({"unit_id": [1], "unit_name": ["U"]}, geometry=[shapely.box(-100, -100, 500, 200)], crs=CRS)
    cells = residential_cells(res, units, None, 25)
    cells["residents"] = 10.0
    rules = geoplan.load_rules("cn-garden-city")
    cov = park_coverage(cells, parks, rules, methods=("network",), network=net, access=access)
    assert len(cells) == 1
    home = shapely.point_on_surface(cells.geometry.values)[0]
    # 40 m from the entrance to the street, along the street to the home's foot, across to the home
    assert cov.cells["net_dist"].iloc[0] == pytest.approx(40 + (home.x - 130) + abs(home.y))
    assert cov.access["fragment_m"].iloc[0] == pytest.approx(0.0) and cov.access["snap_m"].iloc[0] == pytest.approx(40.0)
    assert len(cov.on_fragments) == 0  # the home itself is near the street


def test_fragment_listing_per_cell_and_unit():
    net = _fragment_case()
    res = gpd.GeoDataFrame(geometry=[shapely.box(120, 42, 145, 50), shapely.box(300, -30, 325, -20)], crs=CRS)
    units = gpd.GeoDataFrame({"unit_id": [1, 2], "unit_name": ["west", "east"]},
                             geometry=[shapely.box(-100, -100, 200, 200), shapely.box(200, -100, 500, 200)], crs=CRS)
    cells = residential_cells(res, units, None, 25)
    cells["residents"] = 10.0
    places = gpd.GeoDataFrame({"name": ["北苑"]}, geometry=[shapely.box(110, 41, 150, 60)], crs=CRS)
    s = net.snap(shapely.point_on_surface(cells.geometry.values))
    lst = fragment_homes(cells, net, s, places)
    assert len(lst) == int((cells["unit_name"] == "west").sum()) >= 1
    assert set(lst["place"]) == {"北苑"}
    assert (lst["snap_m"] - lst["fragment_m"]).tolist() == pytest.approx([40.0] * len(lst))
    by = fragment_homes_by_unit(lst, cells).set_index("unit_name")
    assert by.loc["west", "cells_on_fragments"] == len(lst) and by.loc["east", "cells_on_fragments"] == 0
    assert by.loc["west", "residents_on_fragments_pct"] == pytest.approx(100.0)
    fp = fragment_pieces(net)
    assert len(fp) == 1 and fp["length_km"].iloc[0] == pytest.approx(0.06) and not fp["at_edge"].iloc[0]


@pytest.mark.shared
def test_cau_homes_on_fragments_are_listed(cau_park_audit):
    r = cau_park_audit
    lst = r.parks.on_fragments
    # the two known cases: their homes' nearest paths are detached from the streets
    assert {"双泉嘉苑", "农大小区-北区"} <= set(lst["place"])
    net = r.study.network
    pts = shapely.point_on_surface(r.parks.cells.geometry.values)
    s = net.snap(pts)
    assert net.main_edges()[s.edge].all()
    # every listed home passed a fragment nearer than the main network, and only those
    s0 = net.snap(pts, share=0.0)
    frag = ~net.main_edges()[s0.edge]
    assert frag.sum() == len(lst)
    assert (lst["fragment_m"] <= lst["snap_m"] + 1e-9).all()
    # park access points too: none stays on a fragment
    a = net.snap(r.parks.access.geometry.values)
    assert net.main_edges()[a.edge].all()
