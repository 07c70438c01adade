"""Residential land inferred from street blocks where OpenStreetMap maps none (Xicheng's hutong quarters).

Real data from ../shared/data (skipped with the reason when absent): the March 2024 street
network, the May 2024 land use, natural areas and parks, the 15 jiedao.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geoplan.network import build_network
from geoplan.sources.blocks import DEFAULT_HALF_WIDTH_M, infer_residential_blocks, street_blocks
from geoplan.sources.osm import OSMSource

CRS = "EPSG:32650"
pytestmark = pytest.mark.shared


def test_street_blocks_of_a_grid_tile_the_area():
    # unit check on a 3 x 3 grid of streets 100 m apart: the blocks tile the area exactly
    lines = [shapely.LineString([(x, -50), (x, 350)]) for x in (0, 100, 200, 300)]
    lines += [shapely.LineString([(-50, y), (350, y)]) for y in (0, 100, 200, 300)]
    edges = gpd.GeoDataFrame({"highway": ["residential"] * len(lines)}, geometry=lines, crs=CRS)
    area = shapely.box(0, 0, 300, 300)
    b = street_blocks(edges, area)
    assert len(b) == 9 and np.allclose(shapely.area(b), 10_000)
    # streets of 3 m half width leave 94 x 94 m of each block; a park takes one block away
    park = gpd.GeoDataFrame(geometry=[shapely.box(100, 100, 200, 200)], crs=CRS)
    inf = infer_residential_blocks(edges, area, exclude=[park], min_width_m=0)
    assert len(inf) == 8 and np.allclose(inf["area_m2"], (100 - 2 * DEFAULT_HALF_WIDTH_M["residential"]) ** 2, rtol=1e-3)


@pytest.fixture(scope="module")
def xicheng(shared_data):
    d = "xicheng_district"
    jd = gpd.read_file(shared_data(d, "xicheng_jiedao_worldpop.geojson")).to_crs(CRS)
    lu = gpd.read_file(shared_data(d, "xicheng_landuse_osm_2024-05.geojson")).to_crs(CRS)
    nat = gpd.read_file(shared_data(d, "xicheng_natural_osm_2024-05.geojson")).to_crs(CRS)
    parks = gpd.read_file(shared_data(d, "xicheng_parks_osm_2024-05.geojson")).to_crs(CRS)
    area = shapely.union_all(jd.geometry.values)
    bbox = shapely.box(*gpd.GeoSeries([area.buffer(500)], crs=CRS).to_crs(4326).total_bounds)
    nodes, edges = OSMSource(shared_data("osm", "xicheng_streets_2024-03.osm.pbf"), bounding_box=bbox).walking_network()
    net = build_network(nodes, edges, CRS)
    lu["geometry"] = shapely.make_valid(lu.geometry.values)
    mapped = shapely.intersection(shapely.union_all(lu.loc[lu["type"] == "residential"].geometry.values), area)
    other = lu[lu["type"] != "residential"]
    inf = infer_residential_blocks(net.edges, area, mapped=mapped, exclude=[other, nat, parks])
    return jd, area, mapped, other, nat, parks, net, inf


def test_inferred_land_is_disjoint_from_mapped_and_other_land(xicheng):
    jd, area, mapped, other, nat, parks, net, inf = xicheng
    g = shapely.union_all(inf.geometry.values)
    assert inf["area_m2"].min() >= 1000
    assert shapely.area(shapely.difference(g, area)) < 1.0  # inside the district
    for name, layer in (("mapped residential", mapped), ("other land uses", shapely.union_all(other.geometry.values)),
                        ("natural areas", shapely.union_all(shapely.make_valid(nat.geometry.values))),
                        ("parks", shapely.union_all(shapely.make_valid(parks.geometry.values)))):
        assert shapely.area(shapely.intersection(g, layer)) < 1.0, name
    # no inferred land on the carriageway of a primary road (centre line +- 9 m, inside its 10 m half width)
    prim = net.edges[net.edges["highway"] == "primary"].geometry.values
    road = shapely.intersection(shapely.union_all(shapely.buffer(prim, 9.0)), area)
    assert shapely.area(shapely.intersection(g, road)) < 1.0
    # mapped + inferred never exceed the district
    assert shapely.area(mapped) + inf["area_m2"].sum() < area.area


def test_jiedao_without_mapped_residential_land_get_inferred_land(xicheng):
    jd, area, mapped, other, nat, parks, net, inf = xicheng
    g = shapely.union_all(inf.geometry.values)
    for name in ("广安门内街道", "天桥街道", "牛街街道", "大栅栏街道"):
        u = jd.loc[jd["name"] == name].geometry.iloc[0]
        assert shapely.area(shapely.intersection(u, mapped)) < 1.0, name  # none mapped ...
        share = shapely.area(shapely.intersection(u, g)) / u.area
        assert 0.2 < share < 0.9, (name, share)  # ... a share inferred, never the whole jiedao
