"""Unit tests of single formulas of the greenway analysis (toy inputs, numbers worked by hand).

Real-data evidence is in test_greenways_helsinki.py and test_greenways_beijing.py.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString

from geoplan.errors import UsageError
from geoplan.greenways import (decay_theta, graph_indices, greenway_network, iic_pc, load_settings,
                               patch_connectivity)

CRS = "EPSG:32650"


# ---------------------------------------------------------------------------
# IIC / PC / dIIC / dPC, worked by hand
# ---------------------------------------------------------------------------
# Four parks: A = 4, B = 1, C = 2, D = 3 (area units); landscape area A_L = 20.
# Links through the greenway: A-B 1000 m, B-C 1000 m, A-C 2500 m; D is isolated.
# PC kernel p = 0.5 at 1000 m, so p_AB = p_BC = 0.5 and p_AC(direct) = 0.5^2.5 = 0.176777.
# IIC threshold 2000 m: the binary graph is A-B, B-C (A-C is too long).
#
# IIC numerator = Σ_i Σ_j a_i a_j / (1 + nl_ij):
#   diagonal (nl = 0): 16 + 1 + 4 + 9 = 30
#   A-B (nl 1): 2 × 4·1/2 = 4;  B-C (nl 1): 2 × 1·2/2 = 2;  A-C (nl 2, via B): 2 × 4·2/3 = 16/3
#   total = 30 + 4 + 2 + 16/3 = 41.3333;  IIC = 41.3333 / 20² = 0.103333
# PC numerator = Σ_i Σ_j a_i a_j p*_ij:
#   diagonal 30;  A-B 2 × 4·1·0.5 = 4;  B-C 2 × 1·2·0.5 = 2
#   A-C: best product is via B, 0.5 × 0.5 = 0.25 > 0.176777 direct: 2 × 4·2·0.25 = 4
#   total = 40;  PC = 40 / 400 = 0.1;  EC(PC) = √40 = 6.324555
# Removing a park k (a_k = 0 and its links):
#   A: IIC 1+4+9+2 = 16 → dIIC = 100 (41.3333-16)/41.3333 = 61.2903 %;  PC 16 → dPC = 60 %
#   B: IIC 16+4+9 = 29 (A-C not in the binary graph) → 29.8387 %;
#      PC 29 + 2 × 4·2·0.176777 = 31.828427 (A-C now direct) → dPC = 20.428932 %
#      dPC_intra(B) = 100 × 1/40 = 2.5;  dPC_flux(B) = 100 × (4 + 2)/40 = 15;  connector = 2.928932
#   C: IIC 16+1+9+4 = 30 → 27.4194 %;  PC 30 → 25 %
#   D: IIC 41.3333-9 = 32.3333 → 21.7742 %;  PC 31 → 22.5 % (all intra: 100 × 9/40)
# Removing a link:
#   A-B: IIC 30 + 2 = 32 → dIIC = 22.5806 %;
#        PC: A-C direct 2 × 8 × 0.176777 = 2.828427, B-C 2, A-B via C 2 × 4 × 0.5^3.5 = 0.707107
#        → 35.535534 → dPC = 11.161165 %
#   B-C: IIC 30 + 4 = 34 → dIIC = 17.7419 %;
#        PC: A-B 4, A-C direct 2.828427, B-C via A 2 × 2 × 0.5^3.5 = 0.353553 → 37.181981 → dPC = 7.045049 %
#   A-C: on no best path and not in the IIC graph → dIIC = dPC = 0
HAND_LINKS = pd.DataFrame({"i": [0, 1, 0], "j": [1, 2, 2], "distance_m": [1000.0, 1000.0, 2500.0]})
HAND_AREAS = np.array([4.0, 1.0, 2.0, 3.0])


def test_hand_worked_iic_pc():
    r = patch_connectivity(HAND_AREAS, HAND_LINKS, 20.0, decay_distance_m=1000, decay_probability=0.5,
                           iic_threshold_m=2000)
    assert r.iic_num == pytest.approx(30 + 4 + 2 + 16 / 3)
    assert r.iic == pytest.approx(41.333333 / 400, rel=1e-6)
    assert r.pc_num == pytest.approx(40.0)
    assert r.pc == pytest.approx(0.1)
    assert r.ec_pc == pytest.approx(math.sqrt(40.0))
    p = r.patches.set_index("patch")
    assert p["dIIC"].tolist() == pytest.approx([61.290323, 29.838710, 27.419355, 21.774194], abs=1e-5)
    assert p["dPC"].tolist() == pytest.approx([60.0, 20.428932, 25.0, 22.5], abs=1e-5)
    assert p.loc[1, "dPC_intra"] == pytest.approx(2.5)
    assert p.loc[1, "dPC_flux"] == pytest.approx(15.0)
    assert p.loc[1, "dPC_connector"] == pytest.approx(2.928932, abs=1e-5)
    assert p.loc[3, "dPC_intra"] == pytest.approx(22.5) and p.loc[3, "dPC_flux"] == pytest.approx(0.0)
    lk = r.links
    assert lk["dIIC"].tolist() == pytest.approx([22.580645, 17.741935, 0.0], abs=1e-5)
    assert lk["dPC"].tolist() == pytest.approx([11.161165, 7.045049, 0.0], abs=1e-5)
    assert lk["in_iic"].tolist() == [True, True, False]
    assert lk["probability"].tolist() == pytest.approx([0.5, 0.5, 0.5 ** 2.5])


def test_iic_pc_no_links_is_intra_only():
    iic, pc, pstar, nl = iic_pc(np.array([2.0, 3.0]), np.empty(0, int), np.empty(0, int), np.empty(0),
                                theta=decay_theta(1000, 0.5))
    assert iic == pytest.approx(13.0) and pc == pytest.approx(13.0)
    assert np.isinf(nl[0, 1]) and pstar[0, 1] == 0.0


def test_decay_theta():
    assert decay_theta(1000, 0.5) == pytest.approx(math.log(2) / 1000)
    with pytest.raises(ValueError):
        decay_theta(1000, 1.5)


# ---------------------------------------------------------------------------
# Kansky indices of one formula, on toy graphs
# ---------------------------------------------------------------------------
def test_graph_indices_ring_with_tail():
    # square ring 0-1-2-3-0 with a tail 2-4: junction 2 (degree 3), end 4, degree-2 vertices 0, 1, 3
    # dissolving degree-2 vertices: one loop at 2 and the tail: e = 2, v = 2, p = 1
    ind = graph_indices([0, 1, 2, 3, 2], [1, 2, 3, 0, 4], length=[10, 10, 10, 10, 5])
    assert (ind["edges"], ind["vertices"], ind["components"]) == (2, 2, 1)
    assert ind["cyclomatic"] == 1  # e - v + p
    assert ind["beta"] == pytest.approx(1.0)
    assert math.isnan(ind["alpha"]) and math.isnan(ind["gamma"])  # 2v-5 < 0, v <= 2
    assert ind["dangling_ends"] == 1 and ind["junctions"] == 1
    assert ind["graph_edges"] == 5 and ind["graph_vertices"] == 5
    assert ind["total_length_m"] == 45 and ind["largest_component_share_pct"] == pytest.approx(100)


def test_graph_indices_grid():
    # 2 x 3 lattice of vertices (0 1 2 / 3 4 5): 7 edges, 6 vertices (corners have degree 2!)
    u = [0, 1, 3, 4, 0, 1, 2]
    v = [1, 2, 4, 5, 3, 4, 5]
    ind = graph_indices(u, v)
    # corners 0, 2, 3, 5 have degree 2 and dissolve: vertices 1 and 4, edges 1-4 (middle) and two
    # paths 1-0-3-4 and 1-2-5-4: e = 3, v = 2, p = 1, mu = 2
    assert (ind["edges"], ind["vertices"], ind["cyclomatic"]) == (3, 2, 2)
    # a larger planar example where alpha and gamma are defined: K4 (e = 6, v = 4, p = 1)
    k4 = graph_indices([0, 0, 0, 1, 1, 2], [1, 2, 3, 2, 3, 3])
    assert k4["cyclomatic"] == 3
    assert k4["alpha"] == pytest.approx(3 / 3)  # mu / (2v - 5)
    assert k4["gamma"] == pytest.approx(6 / 6)  # e / (3 (v - 2))
    assert k4["beta"] == pytest.approx(1.5)


# ---------------------------------------------------------------------------
# topology on toy lines
# ---------------------------------------------------------------------------
def _gdf(lines, **cols):
    return gpd.GeoDataFrame(cols, geometry=lines, crs=CRS)


def test_snapping_joins_touching_but_unnoded_ends():
    lines = [LineString([(0, 0), (100, 0)]),
             LineString([(100, 0), (200, 0), (200, 100)]),      # shares a vertex with line 0
             LineString([(150, 3), (150, 80)]),                  # T-junction 3 m off line 1: joined, line 1 split
             LineString([(0, 103), (0, 4)]),                     # end 4 m from line 0's end: joined to that end
             LineString([(400, 0), (500, 0)])]                   # alone
    gw = greenway_network(_gdf(lines, name=list("abcde")), snap_m=5)
    assert gw.n_components == 2
    assert gw.components["length_m"].tolist() == pytest.approx([100 + 200 + 77 + 99, 100])
    # line 1 is split where line 2's end joins it (x = 150): two edges
    assert (gw.edges["line_id"] == 1).sum() == 2
    # line 3's end moved 4 m onto line 0's end: the vertex at (0, 0) joins lines 0 and 3
    v00 = gw.vertices[shapely.distance(gw.vertices.geometry.values, shapely.Point(0, 0)) < 1e-9]
    assert len(v00) == 1 and int(v00["degree"].iloc[0]) == 2
    tight = greenway_network(_gdf(lines), snap_m=2)
    assert tight.n_components == 4  # the 3 m and 4 m gaps stay open
    # lengths are those of the data whatever the tolerance
    assert tight.total_length_m == pytest.approx(gw.total_length_m)


def test_crossings_joined_only_for_digitised_lines():
    cross = [LineString([(0, 0), (100, 100)]), LineString([(0, 100), (100, 0)])]
    osm = greenway_network(_gdf(cross, source=["cycleway", "cycleway"]), snap_m=5)
    layer = greenway_network(_gdf(cross, source=["layer:a.geojson", "layer:a.geojson"]), snap_m=5)
    assert osm.n_components == 2  # OSM: a crossing without a shared node is a bridge
    assert layer.n_components == 1  # digitised: joined at the crossing
    forced = greenway_network(_gdf(cross, source=["cycleway", "cycleway"]), snap_m=5, node_crossings=True)
    assert forced.n_components == 1


def test_geographic_crs_refused():
    g = gpd.GeoDataFrame(geometry=[LineString([(116.3, 39.9), (116.4, 39.9)])], crs="EPSG:4326")
    with pytest.raises(UsageError):
        greenway_network(g)


def test_settings_overrides_and_validation():
    s = load_settings({"snap_m": 10, "gaps": {"max_gap_m": 200}, "layer": "x.geojson", "corridors": "环二环"})
    assert s["topology"]["snap_m"] == 10 and s["gaps"]["max_gap_m"] == 200
    assert s["gaps"]["max_walk_m"] == 1000  # untouched defaults stay
    assert s["layer"] == ["x.geojson"] and s["corridors"] == ["环二环"]
    with pytest.raises(UsageError):
        load_settings({"max_gap_m": -1})
    with pytest.raises(UsageError):
        load_settings({"no_such_key": 1})
    with pytest.raises(UsageError):
        load_settings({"patches": {"decay_probability": 1.0}})
