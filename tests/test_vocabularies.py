"""Facility registers in planners' vocabularies: OpenStreetMap shapefile values, AMap codes, Baidu tags.

Real registers from ../shared/data (skipped with the reason when absent):
``poi/bit_haidian_poi_2012.csv`` (AMap type codes and three-level names) and
``xicheng_district/xicheng_pois_osm_2020-11.geojson`` (BBBike ``type`` values).
The counts are checked against an independent reading of the same files
(pandas string operations on the raw columns, not the vocabulary code).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from geoplan.errors import DataError, UsageError
from geoplan.lifecircle import load_lifecircle_rules
from geoplan.lifecircle.facilities import read_register, read_register_values
from geoplan.lifecircle.vocabularies import (
    classify_register,
    list_vocabularies,
    load_vocabulary,
)


@pytest.fixture(scope="module")
def rules():
    return load_lifecircle_rules()


def test_shipped_vocabularies_load_and_name_known_categories(rules):
    assert {"osm", "amap", "baidu"} <= set(list_vocabularies())
    for name in list_vocabularies():
        v = load_vocabulary(name, rules.category_ids)  # raises on a category the preset does not have
        assert v.source and v.text("zh")
    with pytest.raises(UsageError, match="unknown facility vocabulary 'gaode'"):
        load_vocabulary("gaode")


def test_osm_values_cut_split_and_geofabrik_classes(rules):
    v = load_vocabulary("osm")
    assert v.lookup_value("recreation_groun").tags == (("landuse", "recreation_ground"),)  # BBBike 16-character cut
    assert v.lookup_value("motorway_junctio").tags == (("highway", "motorway_junction"),)
    assert v.lookup_value("Massage").tags == (("shop", "massage"),)
    assert v.lookup_value("toilet").tags == (("amenity", "toilets"),)  # Geofabrik fclass
    assert v.lookup_value("market_place").tags == (("amenity", "marketplace"),)
    assert v.lookup_value("no_such_value_here") is None
    assert v.lookup_value("short_cut") is None  # fewer than 10 characters: never a cut value


def test_amap_codes_and_names_longest_prefix():
    v = load_vocabulary("amap")
    assert v.lookup_code("141204").categories == ("kindergarten",)
    assert v.lookup_code("90601").categories == ("pharmacy",)  # leading zero lost by a spreadsheet
    assert v.lookup_code("090602").known_none  # 医疗保健用品: the small category overrides the middle one
    assert v.lookup_code("050117").known_none  # any restaurant: the big category 餐饮服务
    assert v.lookup_code("141200").tags == (("amenity", "school"),)  # generic 学校: its name decides
    assert v.lookup_code("abc") is None
    assert v.lookup_names("科教文化服务;学校;小学").categories == ("primary_school",)
    assert v.lookup_names("医疗保健服务;综合医院;三级甲等医院").categories == ("community_health", "hospital")


def test_baidu_tags(rules):
    v = load_vocabulary("baidu")
    assert v.lookup_names("教育培训;幼儿园").categories == ("kindergarten",)
    assert v.lookup_names("美食;中餐厅").known_none
    assert v.lookup_names("政府机构;居民委员会").categories == ("community_service",)
    # a unit check of classify_register on four Baidu rows (with the preset's name rules for 福利机构)
    df = pd.DataFrame({"tag": ["教育培训;幼儿园", "政府机构;福利机构", "政府机构;福利机构", "外星;飞碟"],
                       "name": ["红果果幼儿园", "德胜养老照料中心", "区救助站", "x"]})
    from geoplan.lifecircle.vocabularies import detect_vocabulary

    reading, share = detect_vocabulary(df, [v])
    assert reading is not None and reading.kind == "names" and share == 0.75
    from geoplan.lifecircle.facilities import classify_features

    rows, values = classify_register(df, reading, rules, names=df["name"], classify=classify_features)
    assert rows.values.tolist() == [[0, "kindergarten"], [1, "elderly_care"]]
    st = values.set_index("value")["status"]
    assert st["外星;飞碟"] == "unmapped" and st["政府机构;福利机构"] == "mapped"


def test_amap_register_maps_every_row_without_dropping(shared_data, rules):
    path = shared_data("poi", "bit_haidian_poi_2012.csv")
    raw = pd.read_csv(path, dtype={"type_code": str})
    fac, values, note = read_register_values(path, rules, "EPSG:32650", unknown_categories="error")
    # every row accounted for: mapped or known not to be a facility, none unmapped
    assert values["rows"].sum() == len(raw) == 2159
    assert set(values["status"]) == {"mapped", "not a facility"}
    assert "AMap" in note and "type_code" in note
    # independent count from the raw codes (zero-padded to six digits)
    code = raw["type_code"].str.zfill(6)
    got = fac["category"].value_counts()
    assert got["kindergarten"] == (code == "141204").sum() == 2
    assert got["pharmacy"] == (code == "090601").sum() == 11
    assert got["toilet"] == code.str.startswith("2003").sum() == 19
    assert got["convenience"] == code.str.startswith("0602").sum() == 39
    assert got["post"] == code.str.startswith("0704").sum() == 5
    # supermarkets except the personal-care chains (屈臣氏 060411), fruit and vegetable markets
    supermarket = code.str.startswith("0604") & ~code.isin(["060411", "060415"])
    assert got["market"] == (supermarket | code.isin(["060704", "060705"])).sum() == 15
    # a general hospital is both a community health service and a hospital (as amenity=hospital is)
    # (not a 卫生院 090102, a community health centre, nor a cosmetic-surgery clinic 090201)
    hospital = (code.str.startswith("0901") | code.str.startswith("0902")) & ~code.isin(["090102", "090201"])
    assert got["hospital"] == hospital.sum() == 2
    assert not fac["category"].isin(["middle_school"]).any()
    # the same register read by its three-level names gives the same categories
    v = load_vocabulary("amap")
    by_name = raw.apply(lambda r: v.lookup_names(f"{r.base_type};{r.sub_type};{r.category}"), axis=1)
    by_code = raw["type_code"].map(v.lookup_code)
    same = [a.categories == b.categories and a.tags == b.tags for a, b in zip(by_name, by_code)]
    assert sum(same) / len(same) > 0.99


def test_xicheng_osm_pois_are_read_as_osm_values(shared_data, rules):
    path = shared_data("xicheng_district", "xicheng_pois_osm_2020-11.geojson")
    raw = pd.json_normalize(json.loads(path.read_text(encoding="utf-8"))["features"])
    fac, values, note = read_register_values(path, rules, "EPSG:32650")
    assert values["rows"].sum() == len(raw) == 4329
    assert (values["status"] != "unmapped").all()  # every value of the file is in the table
    got = fac["category"].value_counts()
    t = raw["properties.type"]
    assert got["toilet"] == (t == "toilets").sum() + (t == "toilets;post_box").sum() == 131
    assert got["pharmacy"] == (t == "pharmacy").sum() == 13
    assert got["post"] == (t == "post_office").sum() == 8
    assert got["kindergarten"] == (t == "kindergarten").sum() == 3
    # the 35 schools split by their names into primary and middle schools; universities tagged
    # amenity=school (北京建筑大学, 中央音乐学院) and a high school are neither
    names = raw.loc[t == "school", "properties.name"].fillna("")
    neither = names.str.contains("大学|学院|[Hh]igh") & ~names.str.contains("小学|中学")
    assert got["primary_school"] + got["middle_school"] == (t == "school").sum() - neither.sum() == 32
    assert got["middle_school"] >= names.str.contains("中学").sum()
    # a restaurant is known and is not a facility; nothing was left out silently
    st = values.set_index("value")["status"]
    assert st["restaurant"] == "not a facility" and st["traffic_signals"] == "not a facility"


def test_unmapped_values_are_listed_or_refused(tmp_path, rules):
    p = tmp_path / "pois.csv"
    pd.DataFrame({"name": ["a", "b", "c", "d"], "fclass": ["kindergarten", "toilet", "hookah_lounge", "hookah_lounge"],
                  "lon": [116.37] * 4, "lat": [39.91] * 4}).to_csv(p, index=False)
    with pytest.raises(DataError, match=r"2 rows have values .*'hookah_lounge' \(2\).*category_map"):
        read_register(p, rules, "EPSG:32650")
    with pytest.warns(Warning, match=r"2 rows .* left out: 'hookah_lounge' \(2\)"):
        fac, values, _ = read_register_values(p, rules, "EPSG:32650", unknown_categories="drop")
    assert sorted(fac["category"]) == ["kindergarten", "toilet"]
    assert values.set_index("value").loc["hookah_lounge", "status"] == "unmapped"
    fac = read_register(p, rules, "EPSG:32650", category_map={"hookah_lounge": None})
    assert len(fac) == 2
    # a named field is the only one read
    with pytest.raises(DataError, match="no column 'kind'"):
        read_register(p, rules, "EPSG:32650", category_field="kind")
    with pytest.raises(DataError, match="no column is read by the vocabulary 'amap'"):
        read_register(p, rules, "EPSG:32650", vocabulary="amap")
