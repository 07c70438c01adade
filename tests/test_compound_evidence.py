"""Compounds need evidence: walls or fences on the outline, a gate on it, or a declared regional rule.

Hand-written OpenStreetMap files (five residential blocks, each with one kind of
evidence or none) and the real Helsinki sample (a European city: no residential
land is walled there unless the map says so) and Haidian CAU export (Beijing).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from geoplan.compounds import compounds_from_osm
from geoplan.errors import UsageError
from geoplan.sources.osm import OSMSource

CRS = "EPSG:32650"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CAU = SHARED / "osm" / "haidian_cau_campus.osm"
DLAT, DLON = 0.0009, 0.00117  # about 100 m in Beijing


class _Osm:
    """A tiny OpenStreetMap XML file built way by way."""

    def __init__(self) -> None:
        self.nodes: dict[int, tuple[float, float, dict]] = {}
        self.ways: list[tuple[int, list[int], dict]] = []
        self._next = 1

    def node(self, lat: float, lon: float, **tags: str) -> int:
        nid = self._next
        self._next += 1
        self.nodes[nid] = (lat, lon, tags)
        return nid

    def ring(self, lat0: float, lon0: float, dlat: float, dlon: float, wid: int, corner_tags: dict | None = None,
             **tags: str) -> list[int]:
        """A closed square way; ``corner_tags``: tags of an extra node in the middle of its south side."""
        c = [self.node(lat0, lon0), self.node(lat0, lon0 + dlon), self.node(lat0 + dlat, lon0 + dlon), self.node(lat0 + dlat, lon0)]
        ring = [c[0]]
        if corner_tags is not None:
            ring.append(self.node(lat0, lon0 + dlon / 2, **corner_tags))
        ring += [c[1], c[2], c[3], c[0]]
        self.ways.append((wid, ring, tags))
        return ring

    def way(self, wid: int, refs: list[int], **tags: str) -> None:
        self.ways.append((wid, refs, tags))

    def write(self, path: Path) -> Path:
        out = ["<?xml version='1.0' encoding='UTF-8'?>", "<osm version='0.6' generator='geoplan test'>"]
        ts = "version='1' timestamp='2024-01-01T00:00:00Z'"
        for nid, (lat, lon, tags) in self.nodes.items():
            t = "".join(f"<tag k='{k}' v='{v}'/>" for k, v in tags.items())
            out.append(f"<node id='{nid}' {ts} lat='{lat:.7f}' lon='{lon:.7f}'>{t}</node>" if t else
                       f"<node id='{nid}' {ts} lat='{lat:.7f}' lon='{lon:.7f}'/>")
        for wid, refs, tags in self.ways:
            nd = "".join(f"<nd ref='{r}'/>" for r in refs)
            t = "".join(f"<tag k='{k}' v='{v}'/>" for k, v in tags.items())
            out.append(f"<way id='{wid}' {ts}>{nd}{t}</way>")
        out.append("</osm>")
        path.write_text("\n".join(out), encoding="utf-8")
        return path


def _blocks(tmp_path: Path) -> Path:
    """Five residential blocks of about 100 m x 100 m, 200 m apart, west to east:

    1. no wall, no gate: no evidence;
    2. a wall along three of its four sides: ``walls``;
    3. a ``barrier=gate`` node on its outline: ``gates``;
    4. a building on its south side with a door (``entrance=main``) on the outline: a
       building's door is no compound gate, so no evidence;
    5. a ``barrier=gate`` in a building on its south side (a passage into a courtyard):
       no evidence either.
    """
    o = _Osm()
    lat = 39.95
    lon = [116.30 + 0.0025 * k for k in range(5)]
    o.ring(lat, lon[0], DLAT, DLON, 101, landuse="residential", name="无证据")
    r = o.ring(lat, lon[1], DLAT, DLON, 102, landuse="residential", name="有围墙")
    o.way(202, r[:4], barrier="wall")  # south, east and north sides
    o.ring(lat, lon[2], DLAT, DLON, 103, corner_tags={"barrier": "gate"}, landuse="residential", name="有大门")
    r4 = o.ring(lat, lon[3], DLAT, DLON, 104, corner_tags={"entrance": "main"}, landuse="residential", name="楼门")
    o.way(204, [r4[0], r4[1], r4[2], o.node(lat + DLAT / 4, lon[3] + DLON), o.node(lat + DLAT / 4, lon[3]), r4[0]],
          building="apartments")
    r5 = o.ring(lat, lon[4], DLAT, DLON, 105, corner_tags={"barrier": "gate"}, landuse="residential", name="门洞")
    o.way(205, [r5[0], r5[1], r5[2], o.node(lat + DLAT / 4, lon[4] + DLON), o.node(lat + DLAT / 4, lon[4]), r5[0]],
          building="apartments")
    # a street along the south of all blocks, so that the extract has a walking network
    o.way(300, [o.node(lat - 0.0002, 116.299), o.node(lat - 0.0002, 116.312)], highway="residential")
    return o.write(tmp_path / "blocks.osm")


@pytest.fixture(scope="module")
def blocks(tmp_path_factory):
    return OSMSource(_blocks(tmp_path_factory.mktemp("blocks")))


def _compounds(src, **settings):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return compounds_from_osm(src, CRS, None, settings)


def test_each_kind_of_evidence_on_hand_written_blocks(blocks):
    # by default only walls are evidence: the gated block without a wall mapped is no compound
    assert list(_compounds(blocks).polygons["name"]) == ["有围墙"]
    c = _compounds(blocks, evidence=["walls", "gates"])
    p = c.polygons.set_index("name")
    assert dict(p["evidence"]) == {"有围墙": "walls", "有大门": "gates"}
    assert set(c.rejected["name"]) == {"无证据", "楼门", "门洞"}
    # a building's door is no gate at all; a gate through a building is a passage (no evidence)
    assert "entrance" not in set(c.gates["kind"])
    assert p.loc["有围墙", "walled_share"] > 0.7


def test_a_declared_regional_rule_makes_every_residential_block_a_compound(blocks):
    c = _compounds(blocks, regional_rule="beijing")
    p = c.polygons.set_index("name")
    assert len(p) == 5 and c.rejected is not None and len(c.rejected) == 0
    assert p.loc["无证据", "evidence"] == "rule" and p.loc["有围墙", "evidence"] == "walls+rule"
    assert p.loc["门洞", "evidence"] == "rule"
    assert set(c.gates[c.gates["compound_id"] == p.loc["门洞", "compound_id"]]["kind"]) == {"passage"}
    # a tag filter instead of a name
    c2 = _compounds(blocks, regional_rule={"landuse": ["residential"]})
    assert len(c2.polygons) == 5
    # only walls: the gated block is no compound
    c3 = _compounds(blocks, evidence=["walls"])
    assert list(c3.polygons["name"]) == ["有围墙"]


def test_bad_compound_settings(blocks):
    with pytest.raises(UsageError, match="regional compound rule"):
        _compounds(blocks, regional_rule="paris")
    with pytest.raises(UsageError, match="evidence"):
        _compounds(blocks, evidence=["rumour"])


# ---------------------------------------------------------------------------
# real extracts
# ---------------------------------------------------------------------------
def _compounds_on(base, **settings):  # noqa: ANN001, ANN202
    """The compound analysis under other settings on a session audit's study and park coverage: what a
    compounds-only audit of the same extract computes (the settings change neither the study nor the parks)."""
    import dataclasses

    import geoplan.compounds

    kw = {"pbf": base.config.inputs.pbf} if base.config.inputs.pbf else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cfg = geoplan.load_config(**kw, compounds=settings)
        return geoplan.compounds.ANALYSIS.run(dataclasses.replace(base, config=cfg, analyses={}))


def test_helsinki_residential_land_without_evidence_is_no_compound(helsinki_park_margin_audit):
    """Helsinki (no walls mapped): no compound effect unless asked; gates as evidence only when asked."""
    c = helsinki_park_margin_audit.analyses["compounds"]
    a, b = c.coverage_pair()
    assert a == pytest.approx(b) and c.summary()["walk_m"]["mean_added_by_walls"] == pytest.approx(0.0)
    assert (c.cells["in_compound"] == 0).all() or c.cells.loc[c.cells["in_compound"] > 0, "residents"].sum() == 0
    assert len(c.compounds.rejected) >= 15 and (c.compounds.rejected["kind"] == "residential").sum() >= 10
    # asked for gates as evidence: the few residential plots with a gate on their outline
    c2 = _compounds_on(helsinki_park_margin_audit, evidence=["walls", "gates"])
    p = c2.compounds.polygons
    assert (p["evidence"] != "").all()
    res = p[p["kind"] == "residential"]
    assert set(res["evidence"]) <= {"gates", "walls", "walls+gates"}
    # no building door is a compound gate, and nobody leaves through one
    assert "entrance" not in set(c2.compounds.gates["kind"]) or not set(
        c2.compounds.gates[c2.compounds.gates["kind"] == "entrance"]["osm_id"]) & set(_door_ids(helsinki_park_margin_audit))
    t = c2.compound_table
    inside = t[t["residents"] > 0]
    assert set(inside["evidence"]) <= {"gates", "walls", "walls+gates"}
    assert c2.summary()["residents_in_compounds_pct"] < 20


def _door_ids(r) -> set:
    from geoplan.sources.tags import tag_values

    e = r.study.osm.features({"entrance": True}, ways=False, relations=False)
    return set(e["id"][tag_values(e, "barrier").isna()].astype(int))


@pytest.mark.shared
def test_cau_walk_saved_by_snapping_and_added_by_walls_are_separate(cau_park_audit):
    c = _compounds_on(cau_park_audit, regional_rule="beijing")
    t = c.compound_table.set_index("name")
    # 双泉嘉苑: its homes' nearest paths are a detached fragment; the main network saves them a long walk,
    # its walls (two gates) add a shorter one
    sq = t.loc["双泉嘉苑"]
    assert sq["walk_saved_by_snapping_m"] > 1000 and 100 < sq["walk_added_by_walls_m"] < 500
    assert sq["residents_on_fragments"] > 0
    # the three figures add up, per cell
    cells = c.cells
    total = cells["park_m_nearest"] - cells["park_m_compounds"]
    assert np.allclose(total, cells["snapping_saved_m"] + cells["links_saved_m"] - cells["walls_added_m"])
    # per unit, weighted by residents
    u = c.walks_by_unit
    ok = u["residents"] > 0
    assert np.allclose(u.loc[ok, "park_m_nearest"] - u.loc[ok, "park_m_compounds"],
                       u.loc[ok, "walk_saved_by_snapping_m"] + u.loc[ok, "walk_saved_by_gate_links_m"]
                       - u.loc[ok, "walk_added_by_walls_m"])
    o = c.coverage_overall
    row = o[(o["scope"] == "all") & (o["tier"] == "all")].iloc[0]
    assert row["residents_pct_nearest"] < row["residents_pct"]  # the main network serves more homes
    # without the regional rule 双泉嘉苑 (no wall, no gate mapped: two paths cross its outline) is no compound
    c0 = _compounds_on(cau_park_audit)
    assert "双泉嘉苑" in set(c0.compounds.rejected["name"]) and "双泉嘉苑" not in set(c0.compounds.polygons["name"])
    assert "compounds_walk_by_unit" in c.tables() and "compounds_without_evidence" in c0.tables()
