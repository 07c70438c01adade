"""Greenways on real Beijing data: 12 named greenways digitised from AMap (GCJ-02 although
labelled WGS 84, so declared and converted) with the Xicheng street network from OpenStreetMap.

Skipped when ../shared/data is absent.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, Point
from shapely.ops import linemerge, substring, unary_union

import geoplan.greenways as gws
from geoplan.greenways.gaps import JOINABLE

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
GREENWAYS = DATA / "greenways"
STREETS = DATA / "osm" / "xicheng_streets_2024-03.osm.pbf"
CRS = "EPSG:32650"
# the extract's extent (SOURCES.md): 116.27-116.47 E, 39.84-39.99 N
LON, LAT = (116.27, 116.47), (39.84, 39.99)

pytestmark = [
    pytest.mark.shared,
    pytest.mark.skipif(not (GREENWAYS.is_dir() and STREETS.exists()),
                       reason=f"real Beijing data not found in {DATA} (greenways/*.geojson and osm/xicheng_streets_2024-03.osm.pbf)"),
]


def _files() -> list[Path]:
    # 北京边界 / 北京面 are the city outline, not greenways
    return [p for p in sorted(GREENWAYS.glob("*.geojson")) if not p.stem.startswith("北京")]


@pytest.fixture(scope="module")
def walk():
    from geoplan.network import build_network
    from geoplan.sources.osm import OSMSource

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nodes, edges = OSMSource(STREETS).walking_network()
        return build_network(nodes, edges, CRS)


@pytest.fixture(scope="module")
def segments():
    return gws.read_greenway_layers(_files(), datum="gcj02").to_crs(CRS)


@pytest.fixture(scope="module")
def result(segments, walk):
    s = gws.load_settings({"corridors": ["环二环", "营城建都"]})
    return gws.analyse_greenways(segments, walk, settings=s)


def test_twelve_greenways_declared_gcj02_and_converted(segments, walk):
    assert len(_files()) == 12
    assert segments["name"].nunique() == 12
    raw = gws.read_greenway_layers(_files()).to_crs(CRS)  # taken at their (false) WGS 84 label
    # the conversion moves every vertex by the GCJ-02 offset (~500 m east, ~140-220 m north in Xicheng)
    first = lambda g: shapely.points([shapely.get_coordinates(x)[0] for x in g.geometry.values])  # noqa: E731
    shift = shapely.distance(first(raw), first(segments))
    assert 400 < np.median(shift) < 700
    # converted lines lie on the streets; the raw ones do not
    tree = shapely.STRtree(walk.edges.geometry.values)
    box = shapely.box(*walk.edges.total_bounds).buffer(-500)

    def median_to_streets(g):
        pts = shapely.points(shapely.get_coordinates(g.geometry.values))
        pts = pts[shapely.within(pts, box)]
        _, d = tree.query_nearest(pts, return_distance=True, all_matches=False)
        return float(np.median(d))

    d_raw, d_conv = median_to_streets(raw), median_to_streets(segments)
    assert d_conv < 20 < d_raw
    assert d_conv < d_raw / 2


def test_lengths_of_the_two_xicheng_greenways(segments):
    km = segments.assign(km=segments.length / 1000).groupby("name")["km"].sum()
    assert km["环二环城市绿道"] == pytest.approx(69.6, abs=0.3)
    assert km["营城建都绿道"] == pytest.approx(19.0, abs=0.3)
    # the name says it: 城市绿道 → city level; the others carry no level
    lv = segments.groupby("name")["level"].first()
    assert lv["环二环城市绿道"] == "city" and lv["营城建都绿道"] == "unspecified"


def test_components_equal_independent_noding(result):
    gw = result.network
    lines = list(gw.segments.geometry.values)
    conn = []
    for i, g in enumerate(lines):
        for end in (Point(g.coords[0]), Point(g.coords[-1])):
            for j, h in enumerate(lines):
                if j != i and end.distance(h) <= 5.0:
                    c = LineString([end, h.interpolate(h.project(end))])
                    if c.length > 0:
                        conn.append(c)
    merged = linemerge(unary_union(lines + conn))
    parts = list(merged.geoms)
    G = nx.Graph()
    r = lambda p: (round(p[0], 3), round(p[1], 3))  # noqa: E731
    for p in parts:
        G.add_edge(r(p.coords[0]), r(p.coords[-1]))
    comp_of = {nd: c for c, nodes in enumerate(nx.connected_components(G)) for nd in nodes}
    tree = shapely.STRtree(parts)
    total: dict[int, float] = {}
    for g in lines:
        k = int(tree.query_nearest(g.interpolate(0.5, normalized=True))[0])
        total[comp_of[r(parts[k].coords[0])]] = total.get(comp_of[r(parts[k].coords[0])], 0.0) + g.length
    ind = sorted(total.values(), reverse=True)
    ours = sorted(gw.components["length_m"].tolist(), reverse=True)
    assert len(ours) == len(ind)
    np.testing.assert_allclose(ours, ind, atol=1e-6)
    # the two Xicheng greenways meet: the largest component holding them carries both names
    both = gw.components[gw.components["names"].str.contains("环二环") & gw.components["names"].str.contains("营城建都")]
    assert len(both) == 1


def test_continuity_of_the_second_ring_and_yingchengjiandu(result):
    c = {x.name: x for x in result.corridors}
    assert set(c) == {"环二环", "营城建都"}
    for name, km in (("环二环", 69.6), ("营城建都", 19.0)):
        s = c[name].summary
        assert s["total_length_m"] / 1000 == pytest.approx(km, abs=0.3)
        assert s["pieces"] > 1 and s["continuous_share_pct"] < 100
        assert s["continuous_length_m"] == pytest.approx(c[name].pieces["length_m"].max())
        assert s["breaks"] >= s["pieces"] - 1
        br = c[name].breaks
        assert br["lon"].between(*LON).all() and br["lat"].between(*LAT).all()
        pieces = c[name].pieces.set_index("piece").geometry
        for _, b in br.iterrows():
            assert b["gap_m"] == pytest.approx(b.geometry.length)
            assert b["gap_m"] >= pieces[b["piece_a"]].distance(pieces[b["piece_b"]]) - 1e-6
        # the walk around a break is never shorter than the gap (minus the access snaps)
        w = br.dropna(subset=["walk_m"])
        assert len(w) and (w["walk_m"] >= w["gap_m"] - 2 * 50).all()
        # digitising gaps close as the tolerance grows; continuity never falls
        tol = c[name].tolerance_table.sort_values("tolerance_m")
        assert tol["continuous_share_pct"].is_monotonic_increasing
        assert tol["pieces"].is_monotonic_decreasing
    # the Second Ring greenway is broken in many places at 5 m, none wider than ~150 m
    ring = c["环二环"].summary
    assert ring["largest_gap_m"] < 150
    assert ring["continuity_by_tolerance"]["100"]["pieces"] == 1


def test_joining_links_between_the_components(result, walk):
    gw, jl, gaps = result.network, result.joining, result.gaps
    assert jl.systems_before == gw.n_components
    assert len(jl.links) == jl.systems_before - jl.systems_after
    assert result.components_after == jl.systems_after
    # greenways outside the extract have no walkable way near them
    assert (gaps["status"] != JOINABLE).any() and (gaps["status"] == JOINABLE).any()
    edges = walk.edges.geometry.values
    tree = shapely.STRtree(edges)
    for _, r in jl.links.iterrows():
        line = r.geometry
        on_net = substring(line, r["access_a_m"], line.length - r["access_b_m"])
        near = edges[tree.query(on_net, predicate="dwithin", distance=1.0)]
        assert on_net.difference(shapely.union_all(shapely.buffer(near, 0.5))).length < 1e-6
        assert r["walk_m"] == pytest.approx(r["access_a_m"] + r["network_m"] + r["access_b_m"])
    # the links joining pieces of 环二环 and 营城建都
    ours = jl.links[jl.links["names_a"].str.contains("环二环|营城建都") | jl.links["names_b"].str.contains("环二环|营城建都")]
    assert len(ours) >= 5
    after = gws.with_links(gw, jl.links)
    n = len(gw.segments)
    comp_now = after.segments["component"].to_numpy()[:n]
    touched = set(ours["component_a"]) | set(ours["component_b"])
    before = gw.segments["component"].to_numpy()
    assert len({comp_now[k] for k in range(n) if before[k] in touched}) == 1
