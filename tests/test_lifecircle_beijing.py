"""Life circles on real Beijing data in ../shared/data (skipped with the reason when absent).

* ``osm/haidian_cau_campus.osm``: full-tag export (China Agricultural University area):
  facilities from OSM tags, distances against networkx, isochrone properties.
* ``osm/haidian_bupt_campus.osm``: an area with no parks (the park category is missing everywhere).
* ``poi/bit_haidian_poi_2012.csv``: AMap-style POIs around BIT as a facility register,
  on the walking network of ``osm/xicheng_streets_2024-03.osm.pbf``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import shapely
from test_lifecircle import (
    assert_matches_networkx,
    check_isochrone,
    nx_nearest,
    split_graph,
)

from geoplan import presenters
from geoplan.config import load_config
from geoplan.errors import DataError
from geoplan.lifecircle import (
    life_circle,
    load_lifecircle_rules,
    read_register,
    summarise_units,
)
from geoplan.network import Snapped

#: ../shared/data beside the repository (the ``shared_data`` fixture of conftest skips when absent)
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"

pytestmark = pytest.mark.shared


def _audit(path: Path):
    from geoplan.audit import run_audit

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_audit(load_config(pbf=str(path)), analyses=("lifecircle",))


@pytest.fixture(scope="module")
def cau(haidian_audit):
    """The session's CAU audit (tests/conftest.py): its life circles are a life-circle-only audit's."""
    return haidian_audit("haidian_cau_campus.osm")


@pytest.fixture(scope="module")
def bupt(haidian_audit):
    return haidian_audit("haidian_bupt_campus.osm")


def _check_networkx(result) -> int:
    lc = result.analyses["lifecircle"]
    net = result.study.network
    o, f = lc.origins, lc.facilities
    osnap = net.snap(o.geometry.values)
    groups = {"o": osnap}
    for c in lc.rules.category_ids:
        m = (f["category"] == c).to_numpy()
        if m.any():
            groups[c] = Snapped(f["snap_edge"].to_numpy()[m], f["snap_along"].to_numpy()[m], f["snap_m"].to_numpy()[m])
    H = split_graph(net, groups)
    n = 0
    for c, src in groups.items():
        if c == "o":
            continue
        limit = lc.rules.search_limit(c)
        assert_matches_networkx(o[f"dist:{c}"].to_numpy(), nx_nearest(H, c, src, "o", osnap, limit), limit)
        n += int(np.isfinite(o[f"dist:{c}"]).sum())
    return n


def test_cau_facilities_from_osm_tags(cau):
    lc = cau.analyses["lifecircle"]
    ct = lc.category_table().set_index("category")
    for c in ("kindergarten", "primary_school", "middle_school", "community_health", "market", "convenience",
              "sports", "transit", "park"):
        assert ct.loc[c, "facilities"] > 0, c
    names = set(lc.facilities["name"].dropna())
    assert any("幼儿园" in n for n in names) and any("小学" in n for n in names)
    # a community health centre tagged amenity=hospital counts as community health
    ch = lc.facilities[lc.facilities["category"] == "community_health"]
    assert any("社区卫生服务中心" in str(n) for n in ch["name"])


def test_cau_distances_equal_networkx(cau):
    assert _check_networkx(cau) > 500


def test_cau_isochrone_properties(cau):
    net = cau.study.network
    unit = cau.study.units.iloc[len(cau.study.units) // 2]
    counts = check_isochrone(net, shapely.point_on_surface(unit.geometry))
    assert counts[15.0][0] >= counts[10.0][0] >= counts[5.0][0]


def test_cau_tables_and_headline(cau):
    lc = cau.analyses["lifecircle"]
    ov, bu = lc.overall.iloc[0], lc.by_unit
    assert ov["residents"] == pytest.approx(cau.population.total)
    assert bu["residents"].sum() == pytest.approx(ov["residents"])
    for c in [c for c in bu.columns if c.endswith("_pct")]:
        v = bu[c].dropna()
        assert ((v >= 0) & (v <= 100 + 1e-9)).all()
    miss = [c for c, _ in lc.most_missing(3)]
    assert "elderly_care" in miss  # no elderly-care facility is mapped in the extract
    assert 0.0 <= lc.complete_pct() <= 100.0
    print("CAU:", presenters.headline(lc, "en"))


def test_bupt_no_parks(bupt):
    lc = bupt.analyses["lifecircle"]
    assert (lc.facilities["category"] == "park").sum() == 0
    assert np.isinf(lc.origins["dist:park"]).all()
    assert lc.complete_pct() == 0.0
    oc = lc.overall_category.set_index("category")
    assert oc.loc["park", "reached_15min_pct"] == 0.0
    assert _check_networkx(bupt) > 50
    print("BUPT:", presenters.headline(lc, "en"))


# ---------------------------------------------------------------------------
# AMap-style POI register around BIT on the Xicheng street network
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def bit(shared_data):
    from geoplan.network import build_network
    from geoplan.sources.layers import read_layer
    from geoplan.sources.osm import OSMSource

    pbf = shared_data("osm", "xicheng_streets_2024-03.osm.pbf")
    poi = shared_data("poi", "bit_haidian_poi_2012.csv")
    box = shapely.box(116.290, 39.946, 116.327, 39.975)
    nodes, edges = OSMSource(pbf, bounding_box=box).walking_network()
    net = build_network(nodes, edges, "EPSG:32650")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        homes = read_layer(poi, what="homes")
    homes = homes[homes["sub_type"] == "住宅区"].to_crs("EPSG:32650").reset_index(drop=True)
    return net, poi, homes


def test_bit_register_read_as_names_only_is_refused(bit):
    _, poi, _ = bit
    with pytest.raises(DataError) as exc:
        read_register(poi, load_lifecircle_rules(), "EPSG:32650", vocabulary="none")
    msg = str(exc.value)
    assert "bit_haidian_poi_2012.csv" in msg and "中餐厅" in msg and "kindergarten" in msg


def test_bit_register_mapping_and_life_circle(bit):
    net, poi, homes = bit
    r = load_lifecircle_rules()
    # AMap type codes, read through the amap vocabulary: every row is known (no --unknown-categories drop)
    fac = read_register(poi, r, "EPSG:32650", unknown_categories="error")
    counts = fac["category"].value_counts()
    assert counts["kindergarten"] == 2 and counts["toilet"] == 19 and counts["pharmacy"] == 11
    assert counts["convenience"] == 39 and counts["post"] == 5
    # 141203 小学 (3) plus AMap's generic 141200 学校 named 小学 (2); no middle school in the register
    assert counts["primary_school"] == 5 and "middle_school" not in counts
    t = life_circle(net, homes, fac, r)
    assert len(t) == len(homes) == 108
    # distances equal networkx on the same real graph
    from geoplan.lifecircle.facilities import snap_facilities

    f = snap_facilities(fac, net)
    osnap = net.snap(homes.geometry.values)
    groups = {"o": osnap}
    for c in ("convenience", "kindergarten", "market"):
        m = (f["category"] == c).to_numpy()
        groups[c] = Snapped(f["snap_edge"].to_numpy()[m], f["snap_along"].to_numpy()[m], f["snap_m"].to_numpy()[m])
    H = split_graph(net, groups)
    for c in ("convenience", "kindergarten", "market"):
        assert_matches_networkx(t[f"dist:{c}"].to_numpy(), nx_nearest(H, c, groups[c], "o", osnap, 1000.0), 1000.0)
    u, cats = summarise_units(t, r, by=[])
    cats = cats.set_index("category")
    assert cats.loc["convenience", "reached_15min_pct"] > 90
    assert u["complete_15min_pct"].iloc[0] == 0.0  # no middle school, elderly care or stop in the register
    print("BIT register:", u[["complete_15min_pct", "most_missing"]].to_dict("records"))
