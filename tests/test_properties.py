"""Property-based tests (hypothesis) of the geometry and coverage functions, on
real geometry: the Helsinki sample's residential cells, parks and walking
network, under random service radii, cell sizes and translations.

* coverage stays within 0–100 %, covered land never exceeds the land;
* coverage grows (never shrinks) with the radius, cell by cell;
* translating every input by the same vector changes nothing;
* residential cells partition residential land exactly, at any cell size;
* ``summarise`` is consistent for any cell table (units add up to the whole).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import geoplan
from geoplan.network import WalkNetwork
from geoplan.parks import access_points, select_parks
from geoplan.parks.coverage import euclidean_cover, park_coverage, summarise
from geoplan.residents import assign_population, residential_cells

SETTINGS = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

TIERS = [{"id": "big", "min_area_m2": 10000}, {"id": "small", "min_area_m2": 2000, "max_area_m2": 10000}]


def rules_for(r_big: float, r_small: float) -> geoplan.Rules:
    """Two tiers of fixed park sizes (so the same park selection holds) with the given radii."""
    return geoplan.load_rules({"name": "prop", "method": "both",
                               "tiers": [{**TIERS[0], "radius_m": r_big}, {**TIERS[1], "radius_m": r_small}]})


@pytest.fixture(scope="module")
def base():
    """Helsinki: cells with residents, parks in tiers, their access points, the network."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = geoplan.load_config()
        study = geoplan.load_study(cfg)
        cells = residential_cells(study.residential, study.units, study.historic, 25.0)
        assign_population(study, cells, cfg.population, None)
        parks = select_parks(study.parks, rules_for(300, 200), study.historic)
        access = access_points(parks[parks["tier"].notna()], study.network, study.entrances)
    assert (parks["tier"] == "big").sum() >= 3 and (parks["tier"] == "small").sum() >= 1
    return {"study": study, "cells": cells, "parks": parks, "access": access, "network": study.network}


def cover(b: dict, rules, methods):  # noqa: ANN001
    return park_coverage(b["cells"], b["parks"], rules, methods=methods, network=b["network"], access=b["access"])


def _check_bounds(cov) -> None:  # noqa: ANN001
    for table in (cov.overall, cov.by_unit):
        for col in ("land_pct", "residents_pct"):
            v = table[col].to_numpy(float)
            assert np.all(np.isnan(v) | ((v >= 0) & (v <= 100 + 1e-9))), table[col].describe()
        assert (table["covered_m2"] <= table["land_m2"] * (1 + 1e-9) + 1e-6).all()
        assert (table["covered_residents"] <= table["residents"] * (1 + 1e-9) + 1e-6).all()
        assert np.isnan(table["land_pct"]).sum() == (table["land_m2"] <= 0).sum()
    c = cov.cells
    assert ((c["euc_cov_m2"] >= -1e-9) & (c["euc_cov_m2"] <= c["area_m2"] * (1 + 1e-9) + 1e-6)).all()


# up to 1 km: every preset's radius (300, 400, 500, 805 m) and beyond; the network method's
# cost grows with the radius (the served zones are unions of the reached streets)
radius = st.floats(min_value=1.0, max_value=1000.0, allow_nan=False)
small_radius = st.floats(min_value=1.0, max_value=500.0, allow_nan=False)
both = ("euclidean", "network")


def _check_grows(lo, hi, methods) -> None:  # noqa: ANN001
    _check_bounds(lo)
    _check_bounds(hi)
    # cell by cell: a longer radius never uncovers land
    if "euclidean" in methods:
        assert (hi.cells["euc_cov_m2"] >= lo.cells["euc_cov_m2"] - 1e-6).all()
    if "network" in methods:
        assert (hi.cells["net_covered"] | ~lo.cells["net_covered"]).all()
    for m in methods:
        for measure in ("land", "residents"):
            assert hi.coverage(m, measure=measure) >= lo.coverage(m, measure=measure) - 1e-9
    by = ["scope", "method", "tier", "unit_id"]
    a, b = lo.by_unit.set_index(by), hi.by_unit.set_index(by)
    assert (b["covered_m2"] >= a["covered_m2"] - 1e-6).all()


@settings(max_examples=15, **SETTINGS)
@given(r_big=st.floats(1.0, 5000.0), r_small=st.floats(1.0, 5000.0), grow=st.floats(min_value=1.0, max_value=4.0))
def test_straight_line_coverage_in_range_and_grows_with_radius(base, r_big, r_small, grow):
    lo = cover(base, rules_for(r_big, r_small), ("euclidean",))
    hi = cover(base, rules_for(min(r_big * grow, 5000), min(r_small * grow, 5000)), ("euclidean",))
    _check_grows(lo, hi, ("euclidean",))


@settings(max_examples=4, **SETTINGS)
@given(r_big=small_radius, r_small=small_radius, grow=st.floats(min_value=1.0, max_value=2.0))
def test_walking_coverage_in_range_and_grows_with_radius(base, r_big, r_small, grow):
    lo = cover(base, rules_for(r_big, r_small), both)
    hi = cover(base, rules_for(r_big * grow, r_small * grow), both)
    _check_grows(lo, hi, both)


def _translate_gdf(gdf: gpd.GeoDataFrame, dx: float, dy: float) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out[gdf.geometry.name] = gdf.geometry.translate(dx, dy)
    return out


def _translate_network(net: WalkNetwork, dx: float, dy: float) -> WalkNetwork:
    return WalkNetwork(net.node_id, net.x + dx, net.y + dy, _translate_gdf(net.edges, dx, dy), net.crs)


shift = st.floats(min_value=-20000, max_value=20000)


@settings(max_examples=10, **SETTINGS)
@given(dx=shift, dy=shift, r_big=st.floats(1.0, 5000.0), r_small=st.floats(1.0, 5000.0))
def test_straight_line_coverage_unchanged_by_translation(base, dx, dy, r_big, r_small):
    rules = rules_for(r_big, r_small)
    moved = {"cells": _translate_gdf(base["cells"], dx, dy), "parks": _translate_gdf(base["parks"], dx, dy)}
    a, b = cover(base, rules, ("euclidean",)), cover({**base, **moved}, rules, ("euclidean",))
    cols = ["land_m2", "covered_m2", "residents", "covered_residents"]
    np.testing.assert_allclose(b.overall[cols].to_numpy(float), a.overall[cols].to_numpy(float), rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(b.by_unit[cols].to_numpy(float), a.by_unit[cols].to_numpy(float), rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(b.cells["euc_cov_m2"], a.cells["euc_cov_m2"], rtol=1e-6, atol=1e-3)


@settings(max_examples=3, **SETTINGS)
@given(dx=shift, dy=shift, r_big=radius, r_small=small_radius)
def test_walking_coverage_unchanged_by_translation(base, dx, dy, r_big, r_small):
    rules = rules_for(r_big, r_small)
    moved = {"cells": _translate_gdf(base["cells"], dx, dy), "parks": _translate_gdf(base["parks"], dx, dy),
             "access": _translate_gdf(base["access"], dx, dy), "network": _translate_network(base["network"], dx, dy)}
    a, b = cover(base, rules, ("network",)), cover(moved, rules, ("network",))
    cols = ["land_m2", "covered_m2", "residents", "covered_residents"]
    np.testing.assert_allclose(b.overall[cols].to_numpy(float), a.overall[cols].to_numpy(float), rtol=1e-6, atol=1e-3)
    np.testing.assert_allclose(b.by_unit[cols].to_numpy(float), a.by_unit[cols].to_numpy(float), rtol=1e-6, atol=1e-3)
    fin = np.isfinite(a.cells["net_dist"].to_numpy())
    assert (np.isfinite(b.cells["net_dist"].to_numpy()) == fin).all()
    np.testing.assert_allclose(b.cells["net_dist"].to_numpy()[fin], a.cells["net_dist"].to_numpy()[fin], atol=1e-4)


@settings(max_examples=6, **SETTINGS)
@given(size=st.floats(min_value=8.0, max_value=400.0), dx=st.floats(-5000, 5000), dy=st.floats(-5000, 5000))
def test_residential_cells_partition_the_land(base, size, dx, dy):
    st_ = base["study"]
    res_area = shapely.union_all(st_.residential.geometry.values).area
    cells = residential_cells(st_.residential, st_.units, st_.historic, size)
    assert cells["area_m2"].sum() == pytest.approx(res_area, rel=1e-7)
    assert (cells["area_m2"] <= size * size * (1 + 1e-9)).all()
    assert cells["cell_id"].tolist() == list(range(len(cells)))
    moved = residential_cells(_translate_gdf(st_.residential, dx, dy), _translate_gdf(st_.units, dx, dy),
                              st_.historic, size)
    assert moved["area_m2"].sum() == pytest.approx(res_area, rel=1e-7)


@settings(max_examples=6, **SETTINGS)
@given(r_big=radius, r_small=radius)
def test_euclidean_cover_per_tier_within_all(base, r_big, r_small):
    rules = rules_for(r_big, r_small)
    c, zones = euclidean_cover(base["cells"], base["parks"], rules)
    area = base["cells"]["area_m2"].to_numpy()
    total = c["euc_cov_m2"].to_numpy()
    assert ((total >= -1e-9) & (total <= area * (1 + 1e-9) + 1e-6)).all()
    for t in ("big", "small"):
        assert (c[f"euc_cov_m2:{t}"].to_numpy() <= total + 1e-6).all()
    # a cell with a serving park lies within that tier's radius of it
    served = c["euc_park"].to_numpy() > 0
    d = c["euc_dist"].to_numpy()[served]
    r = np.where(c["euc_tier"].to_numpy()[served] == "big", r_big, r_small)
    assert (d <= r + 1e-9).all()
    assert [z[0] for z in zones] == ["all", "big", "small"]


def test_no_parks_means_zero_coverage_and_all_blind(base):
    rules = rules_for(500, 300)
    none = base["parks"].iloc[0:0]
    cov = park_coverage(base["cells"], none, rules, methods=("euclidean", "network"), network=base["network"],
                        access=base["access"].iloc[0:0])
    for m in ("euclidean", "network"):
        assert cov.coverage(m) == 0.0
        bs = cov.blind_spots[cov.blind_spots["method"] == m]
        assert bs["area_m2"].sum() == pytest.approx(base["cells"]["area_m2"].sum(), rel=1e-6)


# ----------------------------------------------------------------- summarise on any cell table
@st.composite
def cell_tables(draw):
    n = draw(st.integers(min_value=1, max_value=40))
    area = np.array(draw(st.lists(st.floats(0.0, 1e5), min_size=n, max_size=n)))
    frac = np.array(draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    res = np.array(draw(st.lists(st.floats(0.0, 1e4), min_size=n, max_size=n)))
    unit = np.array(draw(st.lists(st.integers(1, 4), min_size=n, max_size=n)))
    hist = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    dist = np.array(draw(st.lists(st.one_of(st.floats(0.0, 2000.0), st.just(np.inf)), min_size=n, max_size=n)))
    tier = np.array(draw(st.lists(st.sampled_from(["big", "small"]), min_size=n, max_size=n)))
    df = pd.DataFrame({"unit_id": unit, "unit_name": [f"u{u}" for u in unit], "historic": hist, "area_m2": area,
                       "residents": res, "euc_cov_m2": area * frac, "net_dist": dist})
    for t in ("big", "small"):
        df[f"euc_cov_m2:{t}"] = np.where(tier == t, area * frac, 0.0)
        df[f"net_dist:{t}"] = np.where(tier == t, dist, np.inf)
    return df


@settings(max_examples=25, **SETTINGS)
@given(cells=cell_tables(), has_historic=st.booleans())
def test_summarise_is_bounded_and_adds_up(cells, has_historic):
    rules = rules_for(500, 300)
    methods = ("euclidean", "network")
    overall = summarise(cells, rules, methods, has_historic)
    by_unit = summarise(cells, rules, methods, has_historic, by=["unit_id", "unit_name"])
    scopes = {"all", "outside_historic", "inside_historic"} if has_historic else {"all"}
    assert set(overall["scope"]) == scopes
    for table in (overall, by_unit):
        for col in ("land_pct", "residents_pct"):
            v = table[col].to_numpy(float)
            assert np.all(np.isnan(v) | ((v >= -1e-9) & (v <= 100 + 1e-9)))
        assert np.isnan(table["land_pct"].to_numpy(float)).sum() == (table["land_m2"] <= 0).sum()
    # the units add up to the whole, in every scope, method and tier
    key = ["scope", "method", "tier"]
    summed = by_unit.groupby(key, sort=True)[["land_m2", "covered_m2", "residents", "covered_residents"]].sum()
    whole = overall.set_index(key).sort_index()[summed.columns]
    np.testing.assert_allclose(summed.to_numpy(float), whole.loc[summed.index].to_numpy(float), rtol=1e-9, atol=1e-6)
    # inside + outside = all
    if has_historic:
        o = overall.set_index(key)
        for m in methods:
            for t in ("all", "big", "small"):
                assert o.loc[("inside_historic", m, t), "land_m2"] + o.loc[("outside_historic", m, t), "land_m2"] == \
                    pytest.approx(o.loc[("all", m, t), "land_m2"], rel=1e-9, abs=1e-6)
