"""Residents from a count per unit (census or WorldPop per jiedao): spread over residential land, totals conserved.

Real data: the 15 Xicheng jiedao with their WorldPop counts and the OpenStreetMap land use of
``../shared/data/xicheng_district`` (skipped with the reason when absent).
"""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geoplan.errors import DataError, GeoplanWarning
from geoplan.residents import population_from_units, residential_cells
from geoplan.sources.population import detect_population_field, unit_population

CRS = "EPSG:32650"


def test_population_field_recognised_by_name():
    f = pd.DataFrame({"name": ["a", "b"], "district": ["x", "x"], "population_worldpop": [10, 20]})
    assert detect_population_field(f) == ("population_worldpop", ["population_worldpop"])
    f = pd.DataFrame({"名称": ["a"], "常住人口": ["1,200"], "人口密度": [3.0], "pop2020": [1100]})
    field, cands = detect_population_field(f)
    assert field == "常住人口" and cands == ["常住人口", "pop2020"]  # a density is not a count
    assert detect_population_field(pd.DataFrame({"name": ["a"], "pop": [0]})) == (None, [])
    up = unit_population(f, "auto", "unit layer u.gpkg")
    assert up.detected and up.values.tolist() == [1200.0] and "recognised by its name" in up.note
    assert "pop2020" in up.note  # the other candidate is stated
    assert unit_population(f, "none", "unit layer u.gpkg") is None
    with pytest.raises(DataError, match=r"unit layer u.gpkg has no population field 'people'.*--population-field"):
        unit_population(f, "people", "unit layer u.gpkg")
    with pytest.raises(DataError, match="not numbers"):
        unit_population(pd.DataFrame({"pop": ["many"]}), "pop", "unit layer u.gpkg")
    with pytest.raises(DataError, match="negative"):
        unit_population(pd.DataFrame({"pop": [-5]}), "pop", "unit layer u.gpkg")


@pytest.fixture(scope="module")
def xicheng_cells(shared_data):
    jd = gpd.read_file(shared_data("xicheng_district", "xicheng_jiedao_worldpop.geojson")).to_crs(CRS)
    lu = gpd.read_file(shared_data("xicheng_district", "xicheng_landuse_osm_2024-05.geojson")).to_crs(CRS)
    units = gpd.GeoDataFrame({"unit_id": np.arange(1, len(jd) + 1), "unit_name": jd["name"],
                              "population": jd["population_worldpop"].astype(float)}, geometry=jd.geometry.values, crs=CRS)
    area = shapely.union_all(units.geometry.values)
    res = shapely.intersection(shapely.union_all(shapely.make_valid(lu.loc[lu["type"] == "residential"].geometry.values)), area)
    residential = gpd.GeoDataFrame(geometry=gpd.GeoSeries([res], crs=CRS).explode(ignore_index=True), crs=CRS)
    return units, residential_cells(residential, units, None, 25.0)


def test_unit_counts_conserved_on_xicheng(xicheng_cells):
    units, cells = xicheng_cells
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        residents, info = population_from_units(units, cells, gpd.GeoDataFrame(geometry=[], crs=CRS),
                                                floor_area_per_person=35, default_levels=3, non_residential=[],
                                                raster_cell=100, source="jiedao")
    placed = pd.Series(residents).groupby(cells["unit_id"].to_numpy()).sum()
    given = units.set_index("unit_id")["population"]
    has_land = given.index.isin(cells["unit_id"].unique())
    # every jiedao with residential land keeps its WorldPop count (within 1 resident)
    assert np.allclose(placed.reindex(given.index[has_land]).to_numpy(), given[has_land].to_numpy(), atol=1.0)
    # the four jiedao without mapped residential land (广安门内, 天桥, 牛街, 大栅栏) place none, and say so
    lost = set(units.loc[~has_land, "unit_name"])
    assert lost == {"广安门内街道", "天桥街道", "牛街街道", "大栅栏街道"}
    assert abs(info.outside_residential - given[~has_land].sum()) < 1.0
    assert abs(info.total + info.outside_residential - 1_314_427) < 1.0
    assert any(issubclass(x.category, GeoplanWarning) and "大栅栏街道" in str(x.message) for x in w)
    t = info.by_unit.set_index("unit_name")
    assert (t.loc[list(lost), "spread_by"] == "not placed").all()
    assert (t.drop(index=list(lost))["spread_by"] == "land").all()
    # spread by land area: residents per m² are uniform inside each unit
    dens = residents / cells["area_m2"].to_numpy()
    for uid, d in pd.Series(dens).groupby(cells["unit_id"].to_numpy()):
        assert np.ptp(d.to_numpy()) < 1e-9


def test_unit_counts_spread_over_buildings_where_mapped(xicheng_cells):
    units, cells = xicheng_cells
    # two residential buildings in the first jiedao's residential land: its residents go to them only,
    # 1:2 by floor area (the same footprint, 2 and 4 levels)
    u1 = cells[cells["unit_id"] == 1]
    c1, c2 = u1.geometry.values[[0, len(u1) // 2]]
    b = gpd.GeoDataFrame({"building": ["residential", "apartments"], "building:levels": ["2", "4"]},
                         geometry=[shapely.Point(shapely.point_on_surface(c1).coords[0]).buffer(3),
                                   shapely.Point(shapely.point_on_surface(c2).coords[0]).buffer(3)], crs=CRS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        residents, info = population_from_units(units, cells, b, floor_area_per_person=35, default_levels=3,
                                                non_residential=[], raster_cell=100)
    m = cells["unit_id"].to_numpy() == 1
    r1 = residents[m]
    assert abs(r1.sum() - units.loc[0, "population"]) < 1.0
    assert (r1 > 0).sum() == 2 and np.isclose(sorted(r1[r1 > 0])[1] / sorted(r1[r1 > 0])[0], 2.0, rtol=1e-6)
    assert info.by_unit.set_index("unit_id").loc[1, "spread_by"] == "buildings"
    assert info.by_unit.set_index("unit_id").loc[2, "spread_by"] == "land"
