"""Park service-radius coverage: checked against independent computations on real data."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

import geoplan
from geoplan.network import Sources, multi_source, point_distances
from geoplan.parks import access_points, park_coverage, select_parks
from geoplan.residents import residential_cells

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

# A rule set with radii small enough that Helsinki's coverage is far from 100 %.
SMALL_RULES = {"name": "test-small", "method": "both",
               "tiers": [{"id": "big", "min_area_m2": 10000, "radius_m": 150},
                         {"id": "small", "min_area_m2": 2000, "max_area_m2": 10000, "radius_m": 80}]}


@pytest.fixture(scope="module")
def sample(helsinki_park_margin_audit):
    """The session's Helsinki audit with a park-only audit's study area (tests/conftest.py)."""
    return helsinki_park_margin_audit


@pytest.fixture(scope="module")
def small(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = geoplan.load_config(rules=SMALL_RULES)
        from geoplan.audit import run_park_audit

        cov, pop, _ = run_park_audit(cfg, sample.study)
        return cov


def _independent_euclidean(study, parks_gdf, rules) -> float:
    """Union of buffers ∩ residential land, with plain shapely, from the raw OSM parks."""
    parks = select_parks(parks_gdf, rules, None)
    zones = [p.buffer(r, quad_segs=16) for p, r in zip(parks.geometry, parks["radius_m"]) if not math.isnan(r)]
    served = shapely.union_all(zones)
    res = shapely.union_all(study.residential.geometry.values)
    return 100 * res.intersection(served).area / res.area


def test_sample_runs_both_methods(sample):
    ov = sample.parks.overall
    assert set(ov["method"]) == {"euclidean", "network"}
    # 5,559 nodes with pyrosm's walking filter; OpenStreetMap's access rules add Helsinki's shared
    # foot and cycle paths (highway=cycleway + foot=designated/yes: 6.8 km, #17)
    assert sample.study.network.n_nodes == 5863
    for m in ("euclidean", "network"):
        v = sample.parks.coverage(m)
        assert 0 <= v <= 100
    # the walk is never shorter than the straight line: network coverage <= straight-line coverage
    assert sample.parks.coverage("network") <= sample.parks.coverage("euclidean") + 1e-9


@pytest.mark.parametrize("rules", ["cn-garden-city", "who-300m", SMALL_RULES])
def test_euclidean_equals_independent_shapely(sample, rules):
    r = geoplan.load_rules(rules)
    from geoplan.audit import run_park_audit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = geoplan.load_config(rules=rules, method="euclidean")
        cov, _, _ = run_park_audit(cfg, sample.study)
    expected = _independent_euclidean(sample.study, sample.study.parks, r)
    assert abs(cov.coverage("euclidean") - expected) < 0.01


def test_small_rules_not_trivial(small):
    e, n = small.coverage("euclidean"), small.coverage("network")
    assert 5 < e < 95, e
    assert n < e


def test_network_distances_equal_networkx(sample, small):
    """Every node reached from the park access points: same distance as networkx Dijkstra.

    The access points lie on edges; in networkx each is inserted as a new node
    splitting its edge, an independent construction of the same walk.
    """
    net = sample.study.network
    cov = small
    acc = cov.access.merge(cov.parks[["park_id", "tier"]], on="park_id")
    a = acc[acc["tier"] == "big"]
    s = net.snap(a.geometry.values)
    reach = multi_source(net, Sources.on_edges(s, a["park_id"].to_numpy()), 150.0)

    G = nx.Graph()
    for u, v, L in zip(net.edge_u, net.edge_v, net.edge_length):
        if u != v and (not G.has_edge(u, v) or G[u][v]["w"] > L):
            G.add_edge(int(u), int(v), w=float(L))
    G.add_node("S")
    for k, (e, t, off) in enumerate(zip(s.edge, s.along, s.offset)):
        u, v, L = int(net.edge_u[e]), int(net.edge_v[e]), float(net.edge_length[e])
        G.add_edge("S", ("ap", k), w=max(off, 1e-9))
        for node, w in ((u, t), (v, L - t)):
            if not G.has_edge(("ap", k), node) or G[("ap", k)][node]["w"] > w:
                G.add_edge(("ap", k), node, w=max(w, 1e-9))
    ref = nx.single_source_dijkstra_path_length(G, "S", cutoff=150.0, weight="w")
    ref_d = np.full(net.n_nodes, np.inf)
    for k, d in ref.items():
        if isinstance(k, (int, np.integer)):
            ref_d[k] = d
    reached = np.isfinite(reach.dist)
    assert reached.sum() > 100
    assert np.array_equal(reached, np.isfinite(ref_d))
    assert np.max(np.abs(reach.dist[reached] - ref_d[reached])) < 0.5


def test_point_distances_match_split_edge(sample, small):
    """Origins on edges: distance = min over both edge ends + snap offset (checked by hand arithmetic)."""
    net = sample.study.network
    acc = small.access
    s = net.snap(acc.geometry.values)
    reach = multi_source(net, Sources.on_edges(s), 400.0)
    cells = small.cells
    snapped = net.snap(shapely.point_on_surface(cells.geometry.values))
    d, _ = point_distances(net, reach, snapped)
    # independent: networkx on the graph with both sources and origins as split nodes
    G = net.to_networkx()
    H = nx.Graph()
    for u, v, data in G.edges(data=True):
        if u != v and (not H.has_edge(u, v) or H[u][v]["w"] > data["length"]):
            H.add_edge(u, v, w=data["length"])
    ids = net.node_id
    for k, (e, t, off) in enumerate(zip(s.edge, s.along, s.offset)):
        u, v, L = int(ids[net.edge_u[e]]), int(ids[net.edge_v[e]]), float(net.edge_length[e])
        H.add_edge("S", ("src", k), w=max(off, 1e-9))
        H.add_edge(("src", k), u, w=max(t, 1e-9))
        H.add_edge(("src", k), v, w=max(L - t, 1e-9))
    # origins: attach each as a node to its edge ends (same-edge sources handled through the ends and directly)
    sources_on_edge: dict = {}
    for k, e in enumerate(s.edge):
        sources_on_edge.setdefault(int(e), []).append(k)
    dist_nodes = nx.single_source_dijkstra_path_length(H, "S", cutoff=800, weight="w")
    exp = []
    for e, t, off in zip(snapped.edge, snapped.along, snapped.offset):
        u, v, L = int(ids[net.edge_u[e]]), int(ids[net.edge_v[e]]), float(net.edge_length[e])
        cand = [dist_nodes.get(u, np.inf) + t, dist_nodes.get(v, np.inf) + L - t]
        cand += [abs(t - s.along[k]) + s.offset[k] for k in sources_on_edge.get(int(e), [])]
        best = min(cand) + off
        exp.append(best if best <= 400 else np.inf)
    exp = np.array(exp)
    fin = np.isfinite(exp)
    assert np.array_equal(fin, np.isfinite(d))
    assert np.max(np.abs(d[fin] - exp[fin])) < 0.5


def test_covered_plus_blind_equals_residential(sample):
    cov = sample.parks
    cells = cov.cells
    res_area = cells.groupby("unit_id")["area_m2"].sum()
    for method, col in (("euclidean", "euc_cov_m2"), ("network", "net_cov_m2")):
        covered = cells.groupby("unit_id")[col].sum()
        b = cov.blind_spots[cov.blind_spots["method"] == method]
        blind = b.groupby("unit_id")["area_m2"].sum().reindex(res_area.index, fill_value=0.0)
        assert np.allclose(covered + blind, res_area, atol=0.1), method
    # cells partition the residential land exactly
    assert abs(cells["area_m2"].sum() - sample.study.residential.area.sum()) < 0.1


def test_hand_worked_case():
    """One 100 m x 100 m park, three 100 m x 50 m residential blocks at 0, 250 and 600 m.

    Park ≥ 5,000 m² → 500 m radius (cn-garden-city).  Block A touches the park
    (fully covered); block B spans 250–350 m east of it (covered); block C spans
    600–700 m (not covered).  Coverage = 10,000 / 15,000 = 66.67 %.
    With a 300 m radius (who-300m, ≥ 0.5 ha) B is covered for 50 of its 100 m:
    (5,000 + 2,500) / 15,000 = 50 %; with 280 m for 30 m: (5,000 + 1,500) / 15,000 = 43.33 %.
    """
    crs = "EPSG:32650"
    park = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.box(0, 0, 100, 100)], crs=crs)
    blocks = [shapely.box(100, 0, 200, 50), shapely.box(350, 0, 450, 50), shapely.box(700, 0, 800, 50)]
    res = gpd.GeoDataFrame(geometry=blocks, crs=crs)
    units = gpd.GeoDataFrame({"unit_id": [1], "unit_name": ["U"]}, geometry=[shapely.box(-1000, -1000, 2000, 1000)], crs=crs)
    cells = residential_cells(res, units, None, 25)
    cells["residents"] = cells["area_m2"] / 100
    for rules, expected in (("cn-garden-city", 66.6667), ("who-300m", 50.0),
                            ({"name": "t", "tiers": [{"id": "a", "min_area_m2": 5000, "radius_m": 280}]}, 43.3333)):
        r = geoplan.load_rules(rules)
        parks = select_parks(park, r)
        cov = park_coverage(cells, parks, r, methods=("euclidean",))
        assert abs(cov.coverage("euclidean") - expected) < 0.001, rules
        assert abs(cov.coverage("euclidean", measure="residents") - expected) < 0.001


def test_hand_worked_network_case():
    """A straight street; a park touching it at x=0; homes at 205 m and 405 m along it, 10 m off it.

    Radius 300 m: the home at 205 m walks 205 + 10 = 215 m (served), the one at
    405 m walks 415 m (not served).
    """
    import pandas as pd

    crs = "EPSG:32650"
    xs = np.arange(0, 1001, 100.0)
    nodes = pd.DataFrame({"id": np.arange(len(xs)), "x": xs, "y": 0.0})
    lines = [shapely.LineString([(a, 0), (b, 0)]) for a, b in zip(xs[:-1], xs[1:])]
    edges = gpd.GeoDataFrame({"u": np.arange(len(xs) - 1), "v": np.arange(1, len(xs)), "length": 100.0},
                             geometry=lines, crs=crs)
    net = geoplan.WalkNetwork(nodes["id"].to_numpy(), xs, np.zeros(len(xs)), edges, crs)
    park = gpd.GeoDataFrame({"name": ["P"]}, geometry=[shapely.box(-100, 0, 0, 100)], crs=crs)
    r = geoplan.load_rules({"name": "t", "tiers": [{"id": "a", "min_area_m2": 5000, "radius_m": 300}]})
    parks = select_parks(park, r)
    acc = access_points(parks, net, None)
    res = gpd.GeoDataFrame(geometry=[shapely.box(201, -15, 209, -5), shapely.box(401, -15, 409, -5)], crs=crs)
    units = gpd.GeoDataFrame({"unit_id": [1], "unit_name": ["U"]}, geometry=[shapely.box(-500, -500, 1500, 500)], crs=crs)
    cells = residential_cells(res, units, None, 25)
    cells["residents"] = 1.0
    cov = park_coverage(cells, parks, r, methods=("euclidean", "network"), network=net, access=acc)
    d = cov.cells.sort_values("cell_id")["net_dist"].to_numpy()
    assert d[0] == pytest.approx(215.0, abs=1e-6)
    assert np.isinf(d[1])
    assert cov.coverage("network") == pytest.approx(50.0)
    assert cov.coverage("euclidean") == pytest.approx(50.0)  # 401–409 m is beyond 300 m straight too


def test_historic_scopes_and_tier(sample):
    """A historic-district layer adds two scopes that add up to the whole."""
    st = sample.study
    hist = gpd.GeoDataFrame(geometry=[st.area.centroid.buffer(600)], crs=st.crs)
    cells = residential_cells(st.residential, st.units, hist, 25)
    cells["residents"] = 1.0
    r = geoplan.load_rules("cn-garden-city")
    parks = select_parks(st.parks, r, hist)
    assert (parks.loc[parks["tier"] == "historic-1000", "in_historic"]).all()
    cov = park_coverage(cells, parks, r, methods=("euclidean",), has_historic=True)
    o = cov.overall[(cov.overall["tier"] == "all")].set_index("scope")
    assert set(o.index) == {"all", "outside_historic", "inside_historic"}
    assert o.loc["outside_historic", "land_m2"] + o.loc["inside_historic", "land_m2"] == pytest.approx(o.loc["all", "land_m2"])
    assert o.loc["outside_historic", "covered_m2"] + o.loc["inside_historic", "covered_m2"] == pytest.approx(o.loc["all", "covered_m2"])


def test_merge_touching_fragments():
    crs = "EPSG:32650"
    halves = gpd.GeoDataFrame({"name": ["A", None], "id": [1, 2]},
                              geometry=[shapely.box(0, 0, 50, 60), shapely.box(50, 0, 100, 60)], crs=crs)
    r = geoplan.load_rules("cn-garden-city")
    merged = select_parks(halves, r, merge=True)
    assert len(merged) == 1 and merged["tier"].iloc[0] == "park-5000" and merged["fragments"].iloc[0] == 2
    split = select_parks(halves, r, merge=False)
    assert list(split["tier"]) == ["park-2000", "park-2000"]


def test_access_points_prefer_gates(sample):
    cov = sample.parks
    counted = cov.parks[cov.parks["tier"].notna()]
    assert set(cov.access["park_id"]) == set(counted["park_id"])
    kinds = cov.access.groupby("park_id")["kind"].agg(set)
    for k in kinds:
        assert k == {"gate"} or "gate" not in k


def test_beijing_cau_campus_both_methods(cau_park_audit):
    """Real Beijing data (CAU campus, Haidian): both methods; the walk reaches far less than the line."""
    res = cau_park_audit
    e, n = res.parks.coverage("euclidean"), res.parks.coverage("network")
    assert res.parks.parks["tier"].notna().sum() >= 3
    assert e > 90
    assert 10 < n < e
