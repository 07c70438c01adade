"""The walking network is every way open to people on foot: OpenStreetMap's access rules decide.

Each rule is checked on a tiny hand-written OpenStreetMap XML file (one short way
per case, ways far apart), read through the same path as an audit
(:meth:`OSMSource.walking_network`), and compared with pyrosm's ``walking`` filter.
"""

from __future__ import annotations

import pandas as pd
import pytest

from geoplan.errors import UsageError
from geoplan.sources.osm import OSMSource
from geoplan.sources.walkable import pyrosm_walkable, rule_lengths, walkable

#: way id -> (tags, open by OpenStreetMap's rules?, kept by pyrosm's walking filter?, deciding rule)
CASES = {
    1: ({"highway": "cycleway", "foot": "yes"}, True, False, "foot_open"),
    2: ({"highway": "cycleway", "foot": "designated", "bridge": "yes"}, True, False, "foot_open"),
    3: ({"highway": "cycleway", "foot": "permissive"}, True, False, "foot_open"),
    4: ({"highway": "cycleway"}, False, False, "closed_highway"),
    5: ({"highway": "bridleway", "foot": "yes"}, True, True, "foot_open"),
    6: ({"highway": "service", "access": "private", "foot": "yes"}, True, True, "foot_open"),
    7: ({"highway": "service", "access": "private"}, False, False, "access_closed"),
    8: ({"highway": "footway", "foot": "no"}, False, False, "foot_closed"),
    9: ({"highway": "footway", "access": "private"}, False, False, "access_closed"),
    10: ({"highway": "footway", "access": "private;delivery"}, False, False, "access_closed"),
    11: ({"highway": "footway", "access": "no", "foot": "yes"}, True, True, "foot_open"),
    12: ({"highway": "cycleway", "sidewalk": "right"}, True, False, "sidewalk"),
    13: ({"highway": "trunk", "motorroad": "yes", "sidewalk": "both"}, True, True, "sidewalk"),
    14: ({"highway": "trunk", "motorroad": "yes"}, False, True, "closed_highway"),
    15: ({"highway": "motorway_link", "sidewalk:left": "yes"}, True, False, "sidewalk"),
    16: ({"highway": "residential", "sidewalk": "separate"}, False, False, "sidewalk_separate"),
    17: ({"highway": "residential", "sidewalk:left": "separate", "sidewalk:right": "yes"}, True, False, "sidewalk"),
    18: ({"highway": "proposed", "foot": "yes"}, False, False, "not_a_way"),
    19: ({"highway": "residential"}, True, True, "highway"),
    20: ({"highway": "footway"}, True, True, "highway"),
    21: ({"highway": "service", "service": "private"}, False, False, "access_closed"),
    22: ({"highway": "primary", "foot": "use_sidepath"}, False, True, "foot_closed"),
    23: ({"highway": "motorway", "foot": "no", "sidewalk": "both"}, False, False, "foot_closed"),
}


def _xml(cases: dict) -> str:
    """One 2-node way per case, 0.001 degree (about 110 m) apart."""
    lines = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='geoplan test'>"]
    ways = []
    for wid, (tags, *_) in cases.items():
        a, b = 2 * wid, 2 * wid + 1
        lat = 39.9 + 0.001 * wid
        for nid, lon in ((a, 116.30), (b, 116.301)):
            lines.append(f"  <node id='{nid}' version='1' timestamp='2024-01-01T00:00:00Z' lat='{lat:.6f}' lon='{lon:.6f}'/>")
        tag_xml = "".join(f"<tag k='{k}' v='{v}'/>" for k, v in tags.items())
        ways.append(f"  <way id='{wid}' version='1' timestamp='2024-01-01T00:00:00Z'><nd ref='{a}'/><nd ref='{b}'/>{tag_xml}</way>")
    return "\n".join(lines + ways + ["</osm>", ""])


@pytest.fixture(scope="module")
def extract(tmp_path_factory):
    path = tmp_path_factory.mktemp("walk") / "rules.osm"
    path.write_text(_xml(CASES), encoding="utf-8")
    return OSMSource(path)


def test_each_access_rule_on_a_hand_written_extract(extract):
    _, edges = extract.walking_network("osm")
    got = set(edges["id"].astype(int))
    want = {w for w, (_, ok, _, _) in CASES.items() if ok}
    assert got == want, {w: CASES[w][0] for w in got ^ want}
    # the deciding rule travels with the edges
    rule = edges.drop_duplicates("id").set_index("id")["walk_rule"]
    for w in want:
        assert rule[w] == CASES[w][3], (w, CASES[w][0], rule[w])


def test_pyrosm_walking_filter_for_comparison(extract):
    _, py = extract.walking_network("pyrosm")
    want = {w for w, (tags, _, kept, _) in CASES.items() if kept and tags["highway"] not in ("motorway", "motorway_link")}
    assert set(py["id"].astype(int)) == want
    # the replica used for the length table agrees with pyrosm's own reading
    _, every = extract._get("get_network", network_type="all", nodes=True)
    assert set(every["id"][pyrosm_walkable(every)].astype(int)) == {w for w, c in CASES.items() if c[2]}


def test_rules_decide_every_way_and_the_length_table(extract):
    _, every = extract._get("get_network", network_type="all", nodes=True)
    ok, rule = walkable(every)
    by_id = dict(zip(every["id"].astype(int), zip(ok, rule)))
    for w, (tags, want_ok, _, want_rule) in CASES.items():
        if w in by_id:  # pyrosm's "all" network drops highway=proposed itself
            assert by_id[w] == (want_ok, want_rule), (w, tags)
    length = pd.Series(1000.0, index=every.index).to_numpy()  # 1 km each: the table counts ways
    t = rule_lengths(every, length).set_index("rule")
    n_added = sum(1 for w, c in CASES.items() if w in by_id and c[1] and not c[2])
    n_removed = sum(1 for w, c in CASES.items() if w in by_id and c[2] and not c[1])
    assert t.loc["total", "km_added"] == pytest.approx(n_added) and t.loc["total", "km_removed"] == pytest.approx(n_removed)
    assert t.loc["foot_open", "km_added"] == pytest.approx(3)  # the three cycleways opened by a foot tag
    assert t.loc["closed_highway", "km_removed"] == pytest.approx(1)  # the motorroad
    assert t.loc["foot_closed", "km_removed"] == pytest.approx(1)  # foot=use_sidepath


def test_unknown_walking_rules(extract):
    with pytest.raises(UsageError, match="walking rules"):
        extract.walking_network("walk")
    import geoplan
    from geoplan.study import network_settings

    with pytest.raises(UsageError, match="main_piece_share"):
        network_settings(geoplan.load_config(network={"main_piece_share": 2}))
    with pytest.raises(UsageError, match="unknown network setting"):
        network_settings(geoplan.load_config(network={"snap": 1}))
    assert network_settings(geoplan.load_config()) == {"walking_rules": "osm", "main_piece_share": 0.2}


@pytest.mark.shared
def test_cau_footbridge_tagged_foot_designated_is_walkable(shared_data):
    """On the Haidian CAU export a cycleway footbridge (way 930935493, foot=designated) joins a campus
    footway to 石清路: pyrosm's walking filter drops it, the access rules keep it."""
    src = OSMSource(shared_data("osm", "haidian_cau_campus.osm"))
    _, ours = src.walking_network("osm")
    _, theirs = src.walking_network("pyrosm")
    assert 930935493 in set(ours["id"]) and 930935493 not in set(theirs["id"])
    assert set(ours.loc[ours["id"] == 930935493, "walk_rule"]) == {"foot_open"}
    assert set(theirs["id"]) <= set(ours["id"])  # nothing of pyrosm's network is closed by the rules here
