"""Walled compounds and their gates, from OpenStreetMap or from user layers.

A *compound* is an enclosed site that residents leave only through gates:
a residential 小区 (``landuse=residential``), a campus or work-unit compound
(``amenity=university/school/hospital``), or any polygon whose outline runs
mostly along ``barrier=wall/fence`` ways (and closed wall/fence ways
themselves).  A polygon is a compound only with **evidence** that it is
walled (:func:`compound_evidence`):

* ``walls``: walls or fences along most of its outline (``walled_share``);
* ``gates`` (only when asked: ``evidence: [walls, gates]``): a mapped gate on
  its outline (``barrier=gate`` ..., or an ``entrance=*`` node that is not a
  building's door); a gate in a building's outline (a passage into a
  courtyard, as in European perimeter blocks) is never evidence of a wall;
* ``rule``: a declared regional rule (:data:`REGIONAL_RULES`, e.g. ``beijing``:
  residential land-use polygons are walled 小区 there);
* ``user``: the polygon comes from the user's own compound layer.

A residential land-use polygon of a European city with no wall or gate
mapped is no compound.  A *gate* is where the outline can be crossed on
foot:

1. ``barrier=gate/entrance/lift_gate/...`` and ``entrance=*`` nodes (not
   ``entrance=emergency``, not building entrances) on or near the outline;
2. points where a walkable way crosses the outline into the compound;
3. gates of a user point layer (or proposed gates of a what-if).

Crossings are gates of a compound but no evidence that it is walled.
Compounds without any gate are kept and flagged (``n_gates == 0``): the
compound model falls back to ordinary snapping for them and lists them so
that planners can add their gates.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..errors import DataError, GeoplanWarning
from ..network import WalkNetwork
from ..sources.tags import tag_values
from ..config import PRESET_DIR
from ..config import read_yaml
from ..errors import UsageError
from ..sources.layers import read_layer

__all__ = [
    "DEFAULTS",
    "EDGE_INSET_M",
    "EVIDENCE",
    "Compounds",
    "compound_evidence",
    "regional_rule_tags",
    "regional_rules",
    "compound_settings",
    "compounds_from_layers",
    "compounds_from_osm",
    "find_gates",
    "load_compounds",
]

#: Settings of the compound model (a ``compounds:`` section of the user configuration overrides them).
DEFAULTS: dict[str, Any] = {
    "enabled": True,
    # polygons that are compounds when there is evidence of walls (evidence below, or a regional rule)
    "osm_tags": {"landuse": ["residential"], "amenity": ["university", "school", "hospital"]},
    # what counts as evidence that a polygon of osm_tags is walled: walls (walled_share); "gates" (a mapped
    # gate or a non-building entrance on the outline) only when asked: a gate alone does not show a wall, and
    # a city without walls mapped (Helsinki) must get no compound effect unless asked (#17)
    "evidence": ["walls"],
    # a declared regional rule: a name of REGIONAL_RULES (beijing ...) or a tag filter
    # ({landuse: [residential]}); polygons of osm_tags matching it are walled compounds by declaration
    "regional_rule": None,
    "building_entrance_m": 1.0,   # entrance=* nodes this close to a building outline are its doors, not gates
    # polygons with these barriers along most of their outline are compounds too
    "walled_barriers": ["wall", "fence"],
    "walled_share": 0.5,          # share of the outline within wall_tolerance_m of a wall/fence
    "wall_tolerance_m": 5.0,
    "walled_candidates": {"landuse": True, "amenity": True},   # polygons tested for walls
    "min_area_m2": 500.0,         # smaller polygons are not compounds (a courtyard, a kiosk)
    # gates
    "gate_barriers": ["gate", "entrance", "lift_gate", "swing_gate", "sliding_gate", "wicket_gate",
                      "turnstile", "full-height_turnstile", "kissing_gate", "hampshire_gate"],
    "exclude_entrances": ["emergency"],
    "exclude_access": ["no"],
    "gate_tolerance_m": 15.0,     # gate nodes this close to the outline are its gates
    "crossings": True,            # walkable ways crossing the outline are gates
    "connector_max_m": 60.0,      # a gate off the network is linked to paths within this distance
    # user layers (any format read_layer reads); replace the OSM compounds / add to the OSM gates
    "polygons": None,
    "gates": None,
    "user_gates_only": False,     # True: user gates replace OSM gates and crossings
    "name_field": "name",
}

#: Metres an edge's midpoint must lie inside an outline to count as a path *inside* the compound
#: (streets drawn along the outline itself are outside).
EDGE_INSET_M = 1.0

#: Kinds of evidence that a polygon is a walled compound.
EVIDENCE = ("walls", "gates", "rule", "user")


def regional_rules() -> dict[str, dict]:
    """The declared regional rules shipped with geoplan (``presets/walled-compounds.yaml``).

    Returns
    -------
    dict
        Name -> ``{"title": ..., "basis": ..., "walled": {tag: [values]}}``.
    """
    data = read_yaml(PRESET_DIR / "walled-compounds.yaml") or {}
    return {str(k): v for k, v in data.items() if isinstance(v, dict)}


def regional_rule_tags(rule: Any) -> dict:
    """The tag filter of a regional rule given by name or as a filter (``{}`` for none).

    Raises
    ------
    UsageError
        An unknown rule name or a filter that is not a mapping of tag -> values.
    """
    if rule is None or rule is False or rule == "":
        return {}
    if isinstance(rule, str):
        rules = regional_rules()
        if rule not in rules:
            raise UsageError(f"unknown regional compound rule {rule!r}.",
                             hint=f"Use one of {', '.join(sorted(rules))}, or a tag filter such as "
                             "regional_rule: {landuse: [residential]}.")
        return dict(rules[rule]["walled"])
    if isinstance(rule, Mapping) and all(v is True or isinstance(v, (list, tuple)) for v in rule.values()):
        return {str(k): (True if v is True else [str(x) for x in v]) for k, v in rule.items()}
    raise UsageError(f"compounds regional_rule {rule!r} is neither a rule name nor a tag filter.",
                     hint="e.g. regional_rule: beijing, or regional_rule: {landuse: [residential]}.")


def compound_settings(extra: Mapping | None = None) -> dict:
    """The compound-model settings: :data:`DEFAULTS` updated by ``extra`` (``cfg.extra["compounds"]``)."""
    out = copy.deepcopy(DEFAULTS)
    for k, v in (extra or {}).items():
        if k not in DEFAULTS:

            raise UsageError(f"unknown compounds setting {k!r}.", hint=f"Known settings: {', '.join(DEFAULTS)}.")
        out[k] = copy.deepcopy(v)
    ev = out["evidence"]
    ev = [ev] if isinstance(ev, str) else list(ev or [])
    bad = [e for e in ev if e not in ("walls", "gates")]
    if bad:

        raise UsageError(f"unknown compound evidence {bad}.", hint="Use walls and/or gates (a regional rule is regional_rule).")
    out["evidence"] = ev
    regional_rule_tags(out["regional_rule"])  # fail now on an unknown rule
    return out


@dataclass
class Compounds:
    """Compounds and their gates in one projected CRS.

    Attributes
    ----------
    polygons : GeoDataFrame
        ``compound_id`` (1..n), ``name``, ``kind`` (``residential``, ``university`` ...,
        ``walled``, ``user``), ``source``, ``walled_share`` (share of the outline along
        walls/fences), ``evidence`` (:func:`compound_evidence`), ``area_m2``, ``n_gates``,
        polygon geometry.
    gates : GeoDataFrame
        One row per gate and compound it opens: ``gate_id``, ``compound_id``, ``kind``
        (``gate``, ``passage`` (a gate in a building's outline), ``entrance``, ``crossing``, ``user``,
        ``proposed``), ``osm_id``, point geometry.
        A gate in a wall shared by two compounds appears once for each.
    rejected : GeoDataFrame or None
        Candidate polygons (residential land use, campuses ...) with no evidence of walls:
        not compounds (``name``, ``kind``, ``walled_share``, ``area_m2``).
    """

    polygons: gpd.GeoDataFrame
    gates: gpd.GeoDataFrame
    rejected: gpd.GeoDataFrame | None = None

    @property
    def crs(self) -> Any:
        """The CRS of the layers."""
        return self.polygons.crs

    def ungated(self) -> gpd.GeoDataFrame:
        """Compounds with no gate at all (ordinary snapping; planners should map their gates)."""
        return self.polygons[self.polygons["n_gates"] == 0]

    def with_gates(self, extra: gpd.GeoDataFrame, tolerance_m: float = 15.0, kind: str = "proposed") -> Compounds:
        """A copy with more gates (e.g. proposed ones), attached to every compound within ``tolerance_m``.

        Parameters
        ----------
        extra : GeoDataFrame of points in the same CRS
        tolerance_m : float
            A point this close to an outline opens that compound.
        kind : str
            ``kind`` of the new gate rows.

        Returns
        -------
        Compounds
        """
        new = _gates_near(self.polygons, extra.geometry.values, tolerance_m, kind,
                          extra["osm_id"].to_numpy() if "osm_id" in extra.columns else None)
        start = int(self.gates["gate_id"].max()) + 1 if len(self.gates) else 1
        new["gate_id"] = new["gate_id"] + start
        gates = pd.concat([self.gates, new], ignore_index=True)
        gates = gpd.GeoDataFrame(gates, geometry="geometry", crs=self.crs)
        out = Compounds(_count_gates(self.polygons.copy(), gates), gates, self.rejected)
        if getattr(self, "_inset", None) is not None:
            out._inset = self._inset  # the outlines are the same
        return out


def _empty_gates(crs: Any) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"gate_id": np.empty(0, np.int64), "compound_id": np.empty(0, np.int64),
                             "kind": np.empty(0, object), "osm_id": np.empty(0, np.int64)},
                            geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _gates_near(polygons: gpd.GeoDataFrame, points: np.ndarray, tolerance: float, kind: Any,
                osm_id: np.ndarray | None = None) -> gpd.GeoDataFrame:
    """Gate rows for points within ``tolerance`` of a compound outline (gate_id = 0-based point index)."""
    crs = polygons.crs
    if len(points) == 0 or len(polygons) == 0:
        return _empty_gates(crs)
    boundary = shapely.boundary(polygons.geometry.values)
    tree = shapely.STRtree(boundary)
    gi, ci = tree.query(points, predicate="dwithin", distance=tolerance)
    kinds = np.asarray(kind, dtype=object)[gi] if not isinstance(kind, str) else np.full(len(gi), kind, dtype=object)
    ids = osm_id[gi] if osm_id is not None else np.full(len(gi), -1, dtype=np.int64)
    return gpd.GeoDataFrame({"gate_id": gi.astype(np.int64), "compound_id": polygons["compound_id"].to_numpy()[ci],
                             "kind": kinds, "osm_id": ids}, geometry=points[gi], crs=crs)


def _count_gates(polygons: gpd.GeoDataFrame, gates: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    n = gates.groupby("compound_id")["gate_id"].nunique() if len(gates) else pd.Series(dtype=int)
    polygons["n_gates"] = polygons["compound_id"].map(n).fillna(0).astype(int).to_numpy()
    return polygons


def crossing_points(polygons: gpd.GeoDataFrame, network: WalkNetwork) -> gpd.GeoDataFrame:
    """Points where walkable ways cross a compound outline *into* the compound.

    A way that only touches the outline from outside, or runs along it (a
    street the outline was drawn on), is not a crossing.

    Returns
    -------
    GeoDataFrame
        ``compound_id`` and point geometry (one row per crossing).
    """
    crs = polygons.crs
    if len(polygons) == 0 or network.n_edges == 0:
        return gpd.GeoDataFrame({"compound_id": np.empty(0, np.int64)}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    geoms = polygons.geometry.values
    boundary = shapely.boundary(geoms)
    inner = shapely.buffer(geoms, -EDGE_INSET_M)
    edges = network.edges.geometry.values
    pi, ei = network.tree.query(boundary, predicate="intersects")
    # the way must also enter the compound's interior
    enters = shapely.intersects(edges[ei], inner[pi])
    pi, ei = pi[enters], ei[enters]
    x = shapely.intersection(boundary[pi], edges[ei])
    out = gpd.GeoDataFrame({"compound_id": polygons["compound_id"].to_numpy()[pi]}, geometry=x, crs=crs)
    out = out.explode(ignore_index=True)
    out = out[out.geom_type == "Point"]
    key = out["compound_id"].astype(str) + shapely.to_wkb(shapely.set_precision(out.geometry.values, 0.01), hex=True)
    return out.loc[~key.duplicated()].reset_index(drop=True)


def find_gates(
    polygons: gpd.GeoDataFrame,
    network: WalkNetwork | None,
    entrances: gpd.GeoDataFrame | None = None,
    *,
    tolerance_m: float = 15.0,
    crossings: bool = True,
) -> gpd.GeoDataFrame:
    """Gates of every compound: entrance points near its outline and crossings of walkable ways.

    Parameters
    ----------
    polygons : GeoDataFrame
        Compounds with ``compound_id``.
    network : WalkNetwork, optional
        For crossings.
    entrances : GeoDataFrame, optional
        Gate/entrance points (``kind`` column optional, ``osm_id`` optional).
    tolerance_m : float
        Entrance points this close to an outline open that compound.
    crossings : bool
        Also count points where walkable ways cross into the compound.

    Returns
    -------
    GeoDataFrame
        ``gate_id``, ``compound_id``, ``kind``, ``osm_id``, point geometry.
    """
    crs = polygons.crs
    parts = []
    if entrances is not None and len(entrances):
        kinds = entrances["kind"].to_numpy() if "kind" in entrances.columns else np.full(len(entrances), "gate", dtype=object)
        ids = entrances["osm_id"].to_numpy() if "osm_id" in entrances.columns else None
        parts.append(_gates_near(polygons, entrances.geometry.values, tolerance_m, kinds, ids))
    if crossings and network is not None:
        c = crossing_points(polygons, network)
        if len(c):
            # a crossing at a mapped gate (within 2 m) is that gate, not a second one
            if parts and len(parts[0]):
                g = parts[0]
                tree = shapely.STRtree(g.geometry.values)
                ci, gi = tree.query(c.geometry.values, predicate="dwithin", distance=2.0)
                same = c["compound_id"].to_numpy()[ci] == g["compound_id"].to_numpy()[gi]
                c = c.drop(index=c.index[np.unique(ci[same])]).reset_index(drop=True)
            parts.append(gpd.GeoDataFrame({"gate_id": np.zeros(len(c), np.int64), "compound_id": c["compound_id"].to_numpy(),
                                           "kind": "crossing", "osm_id": -1}, geometry=c.geometry.values, crs=crs))
    if not parts:
        return _empty_gates(crs)
    g = pd.concat(parts, ignore_index=True)
    # the same location is one gate (shared by the compounds it opens)
    loc = shapely.to_wkb(shapely.set_precision(g.geometry.values, 0.01), hex=True)
    g["gate_id"] = pd.factorize(loc)[0].astype(np.int64) + 1
    g = g.drop_duplicates(["gate_id", "compound_id"]).reset_index(drop=True)
    return gpd.GeoDataFrame(g, geometry="geometry", crs=crs)


def _finish(polygons: gpd.GeoDataFrame, min_area: float) -> gpd.GeoDataFrame:
    p = polygons[polygons.geom_type.isin(["Polygon", "MultiPolygon"])].copy()
    p["geometry"] = shapely.make_valid(p.geometry.values)
    p = p[p.geom_type.isin(["Polygon", "MultiPolygon"])]
    p["area_m2"] = p.geometry.area
    p = p[p["area_m2"] >= min_area]
    # the same outline tagged twice (landuse and amenity) is one compound
    key = shapely.to_wkb(shapely.set_precision(shapely.normalize(p.geometry.values), 0.5), hex=True)
    p = p.loc[~pd.Series(key, index=p.index).duplicated()]
    p = p.sort_values("area_m2", ascending=False, kind="stable").reset_index(drop=True)
    p.insert(0, "compound_id", np.arange(1, len(p) + 1, dtype=np.int64))
    return gpd.GeoDataFrame(p, geometry="geometry", crs=polygons.crs)


def walled_share(polygons: Any, barriers: Any, tolerance_m: float) -> np.ndarray:
    """Share of each polygon's outline lying within ``tolerance_m`` of a barrier line."""
    polygons = np.asarray(polygons, dtype=object)
    out = np.zeros(len(polygons))
    if len(polygons) == 0 or len(barriers) == 0:
        return out
    zone = shapely.union_all(shapely.buffer(np.asarray(barriers, dtype=object), tolerance_m, quad_segs=4))
    shapely.prepare(zone)
    b = shapely.boundary(polygons)
    length = shapely.length(b)
    near = shapely.intersects(b, zone)
    if near.any():
        out[near] = shapely.length(shapely.intersection(b[near], zone)) / np.maximum(length[near], 1e-9)
    return np.clip(out, 0.0, 1.0)


def _as_lines(geoms: np.ndarray) -> np.ndarray:
    """Polygons as their outlines, lines as they are."""
    geoms = np.asarray(geoms, dtype=object)
    poly = np.isin(shapely.get_type_id(geoms), [3, 6])
    out = geoms.copy()
    if poly.any():
        out[poly] = shapely.boundary(geoms[poly])
    return out


def _osm_entrances(osm: Any, settings: Mapping, crs: Any) -> gpd.GeoDataFrame:
    """Gate and entrance nodes that may open a compound: ``barrier=gate ...`` nodes (kind ``gate``, or
    ``passage`` when on a building's outline: a gate through a building into its courtyard), and
    ``entrance=*`` nodes that are not a building's door (within ``building_entrance_m`` of a
    building outline: those are left out).
    """
    e = osm.features({"barrier": list(settings["gate_barriers"]), "entrance": True}, ways=False, relations=False)
    if len(e) == 0:
        return gpd.GeoDataFrame({"kind": [], "osm_id": []}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    e = e[e.geom_type == "Point"]
    barrier = tag_values(e, "barrier")
    entrance = tag_values(e, "entrance")
    access = tag_values(e, "access")
    foot = tag_values(e, "foot")
    ok = barrier.isin(list(settings["gate_barriers"])) | entrance.notna()
    ok &= ~entrance.isin(list(settings["exclude_entrances"]))
    # closed to people on foot (foot=no, or access=no without a foot tag opening it): no gate for a walk
    ok &= ~(foot.isin(["no"]) | (access.isin(list(settings["exclude_access"])) & ~foot.isin(["yes", "designated", "permissive"])))
    e = e[ok]
    kind = np.where(tag_values(e, "barrier").notna(), "gate", "entrance").astype(object)
    e = e.set_crs("EPSG:4326", allow_override=True) if e.crs is None else e
    pts = e.to_crs(crs).geometry.values
    on_building = _building_doors(osm, pts, crs, float(settings["building_entrance_m"])) if len(pts) else np.zeros(0, bool)
    # a gate in a building's outline opens a passage through the building (a courtyard gate), not a wall
    kind[(kind == "gate") & on_building] = "passage"
    door = (kind == "entrance") & on_building
    return gpd.GeoDataFrame({"kind": kind[~door], "osm_id": e["id"].to_numpy(np.int64)[~door]}, geometry=pts[~door], crs=crs)


def _building_doors(osm: Any, pts: np.ndarray, crs: Any, tolerance_m: float) -> np.ndarray:
    """Whether each point lies on (or in) a building, within ``tolerance_m``: a door or a passage, not a gate."""
    b = osm.buildings()
    if len(b) == 0:
        return np.zeros(len(pts), bool)
    b = b[b.geom_type.isin(["Polygon", "MultiPolygon"])]
    if len(b) == 0:
        return np.zeros(len(pts), bool)
    b = b.set_crs("EPSG:4326", allow_override=True) if b.crs is None else b
    hit, _ = shapely.STRtree(b.to_crs(crs).geometry.values).query(pts, predicate="dwithin", distance=tolerance_m)
    out = np.zeros(len(pts), bool)
    out[hit] = True
    return out


def _tag_kind(feats: pd.DataFrame, tags: Mapping) -> pd.Series:
    """The value of the first tag of ``tags`` each feature matches (None where it matches none)."""
    kind = pd.Series([None] * len(feats), index=feats.index, dtype=object)
    for key, values in tags.items():
        v = tag_values(feats, key)
        hit = v.notna() if values is True else v.isin(list(values))
        kind = kind.where(kind.notna() | ~hit, v)
    return kind


def compound_evidence(polygons: gpd.GeoDataFrame, gates: gpd.GeoDataFrame, settings: Mapping,
                      rule_hit: np.ndarray | None = None) -> np.ndarray:
    """The evidence that each polygon is a walled compound (``""`` for none).

    Parameters
    ----------
    polygons : GeoDataFrame
        Candidate polygons with ``walled_share``.
    gates : GeoDataFrame
        Gate rows of the candidates (:func:`find_gates` without crossings), with ``compound_id``
        = the polygon's position (0-based) in ``polygons``.
    settings : mapping
        ``evidence``, ``walled_share``.
    rule_hit : array of bool, optional
        Which polygons a declared regional rule makes compounds.

    Returns
    -------
    ndarray of str
        ``walls``, ``gates``, ``rule`` or ``+``-joined combinations, ``""`` where there is none.
    """
    n = len(polygons)
    ev = set(settings.get("evidence") or [])
    parts = []
    if "walls" in ev:
        parts.append(("walls", polygons["walled_share"].to_numpy(float) >= float(settings["walled_share"])))
    if "gates" in ev:
        has = np.zeros(n, bool)
        if len(gates):
            mapped = gates[gates["kind"].isin(["gate", "entrance", "user"])]
            has[np.unique(mapped["compound_id"].to_numpy(np.int64))] = True
        parts.append(("gates", has))
    if rule_hit is not None:
        parts.append(("rule", np.asarray(rule_hit, bool)))
    out = np.full(n, "", dtype=object)
    for name, hit in parts:
        out[hit] = np.where(out[hit] == "", name, out[hit] + "+" + name)
    return out


def compounds_from_osm(osm: Any, crs: Any, network: WalkNetwork | None, settings: Mapping | None = None,
                       area: Any = None) -> Compounds:
    """Compounds and gates from an OpenStreetMap extract: candidate polygons with evidence of walls.

    Parameters
    ----------
    osm : OSMSource
    crs : CRS-like
        Projected CRS of the network.
    network : WalkNetwork, optional
        For walkable ways crossing outlines (gates).
    settings : mapping, optional
        :data:`DEFAULTS` with overrides (see :func:`compound_settings`).
    area : shapely geometry in ``crs``, optional
        Only compounds intersecting it are kept.

    Returns
    -------
    Compounds
        Polygons with an ``evidence`` column (:func:`compound_evidence`); the candidates
        without evidence are in :attr:`Compounds.rejected`.
    """
    s = compound_settings(settings)
    tags = dict(s["osm_tags"])
    rule = regional_rule_tags(s["regional_rule"])
    cand_tags = dict(s["walled_candidates"] or {})
    flt = {k: (True if v is True else list(v)) for k, v in cand_tags.items()}
    for k, v in [*tags.items(), *rule.items()]:
        if flt.get(k) is not True:
            flt[k] = True if v is True else sorted(set(flt.get(k, [])) | set(v))
    feats = osm.features(flt, nodes=False)
    feats = feats[feats.geom_type.isin(["Polygon", "MultiPolygon"])] if len(feats) else feats
    barriers = osm.features({"barrier": list(s["walled_barriers"])}, nodes=False)
    if len(barriers):
        barriers = barriers.set_crs("EPSG:4326", allow_override=True) if barriers.crs is None else barriers
        barriers = barriers.to_crs(crs)
        bv = tag_values(barriers, "barrier")
        barriers = barriers[bv.isin(list(s["walled_barriers"])).to_numpy()]
    lines = _as_lines(barriers.geometry.values) if len(barriers) else np.empty(0, object)
    entrances = _osm_entrances(osm, s, crs)
    user = _user_gates(s, crs)
    mapped_gates = entrances if user is None else gpd.GeoDataFrame(pd.concat([entrances, user], ignore_index=True),
                                                                  geometry="geometry", crs=crs)
    if s["user_gates_only"] and user is not None:
        mapped_gates = user
    polys = []
    rejected = None
    if len(feats):
        feats = feats.set_crs("EPSG:4326", allow_override=True) if feats.crs is None else feats
        feats = feats.to_crs(crs)
        kind = _tag_kind(feats, tags)
        rule_kind = _tag_kind(feats, rule)
        by_rule = rule_kind.notna().to_numpy()
        kind = kind.where(kind.notna(), rule_kind)
        f = feats.assign(kind=kind.to_numpy(), name=tag_values(feats, "name").to_numpy(),
                         walled_share=walled_share(feats.geometry.values, lines, float(s["wall_tolerance_m"])),
                         osm_id=feats["id"].to_numpy() if "id" in feats else -1, source="OpenStreetMap")
        is_cand = f["kind"].notna().to_numpy()
        cand = f[is_cand].reset_index(drop=True)
        g = find_gates(cand.assign(compound_id=np.arange(len(cand))), None, mapped_gates,
                       tolerance_m=float(s["gate_tolerance_m"]), crossings=False)
        ev = compound_evidence(cand, g, s, by_rule[is_cand] if rule else None)
        cand = cand.assign(evidence=ev)
        keep = ev != ""
        # polygons of other land uses whose outline runs along walls are compounds too
        other = f[f["kind"].isna() & (f["walled_share"] >= float(s["walled_share"]))].assign(kind="walled", evidence="walls")
        cols = ["name", "kind", "walled_share", "evidence", "source", "osm_id", "geometry"]
        polys.append(gpd.GeoDataFrame(pd.concat([cand[keep][cols], other[cols]], ignore_index=True), geometry="geometry", crs=crs))
        rejected = gpd.GeoDataFrame(cand[~keep][[c for c in cols if c != "evidence"]].reset_index(drop=True),
                                    geometry="geometry", crs=crs)
    # closed wall/fence ways enclose compounds too
    if len(barriers):
        geoms = barriers.geometry.values
        closed = np.array([(g.geom_type in ("Polygon", "MultiPolygon")) or
                           (g.geom_type == "LineString" and g.is_ring and len(g.coords) >= 4) for g in geoms])
        if closed.any():
            pg = np.array([g if g.geom_type != "LineString" else shapely.Polygon(g) for g in geoms[closed]], dtype=object)
            polys.append(gpd.GeoDataFrame({"name": tag_values(barriers, "name").to_numpy()[closed], "kind": "walled",
                                           "walled_share": 1.0, "evidence": "walls", "source": "OpenStreetMap",
                                           "osm_id": barriers["id"].to_numpy()[closed] if "id" in barriers else -1},
                                          geometry=pg, crs=crs))
    if polys:
        p = gpd.GeoDataFrame(pd.concat(polys, ignore_index=True), geometry="geometry", crs=crs)
    else:
        p = gpd.GeoDataFrame({"name": [], "kind": [], "walled_share": [], "evidence": [], "source": [], "osm_id": []},
                             geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    if area is not None and len(p):
        p = p[p.intersects(area)]
    p = _finish(p, float(s["min_area_m2"]))
    if len(p) and len(lines):
        p["walled_share"] = walled_share(p.geometry.values, lines, float(s["wall_tolerance_m"]))
    if s["user_gates_only"] and user is not None:
        gates = find_gates(p, None, user, tolerance_m=float(s["gate_tolerance_m"]), crossings=False)
    else:
        gates = find_gates(p, network, mapped_gates, tolerance_m=float(s["gate_tolerance_m"]), crossings=bool(s["crossings"]))
    out = Compounds(_count_gates(p, gates), gates)
    if rejected is not None:
        if area is not None and len(rejected):
            rejected = rejected[rejected.intersects(area)]
        rejected = rejected[rejected.area >= float(s["min_area_m2"])]
        out.rejected = gpd.GeoDataFrame(rejected.assign(area_m2=rejected.area.to_numpy()).reset_index(drop=True),
                                        geometry="geometry", crs=crs)
    return out


def _user_gates(settings: Mapping, crs: Any) -> gpd.GeoDataFrame | None:
    if not settings.get("gates"):
        return None

    g = read_layer(settings["gates"], what="compound gates", geom_types=("point",), name="compound_gates")
    g = g.to_crs(crs)
    return gpd.GeoDataFrame({"kind": np.full(len(g), "user", dtype=object), "osm_id": np.full(len(g), -1, dtype=np.int64)},
                            geometry=g.geometry.values, crs=crs)


def compounds_from_layers(
    polygons: gpd.GeoDataFrame,
    gates: gpd.GeoDataFrame | None,
    network: WalkNetwork | None,
    *,
    crossings: bool = True,
    tolerance_m: float = 15.0,
    min_area_m2: float = 0.0,
    name_field: str = "name",
    kind: str = "user",
) -> Compounds:
    """Compounds from a user polygon layer and gates from a user point layer (both projected).

    Parameters
    ----------
    polygons : GeoDataFrame
        Compound outlines (e.g. a planning bureau's 小区 layer).
    gates : GeoDataFrame, optional
        Gate points; each opens every compound whose outline is within ``tolerance_m``.
    network : WalkNetwork, optional
        For crossings of walkable ways (``crossings=True``).
    crossings : bool
    tolerance_m, min_area_m2 : float
    name_field : str
        Column with compound names, if any.
    kind : str
        ``kind`` of the compounds.

    Returns
    -------
    Compounds
    """
    crs = polygons.crs
    if crs is None:
        raise DataError("the compound layer has no CRS.")
    n = len(polygons)
    names = polygons[name_field].astype(object).to_numpy() if name_field in polygons.columns else np.full(n, None, dtype=object)
    p = gpd.GeoDataFrame({"name": names, "kind": np.full(n, kind, dtype=object), "walled_share": np.full(n, np.nan),
                          "evidence": np.full(n, "user", dtype=object),
                          "source": np.full(n, "user layer", dtype=object), "osm_id": np.full(n, -1, dtype=np.int64)},
                         geometry=polygons.geometry.values, crs=crs)
    p = _finish(p, min_area_m2)
    g = None
    if gates is not None and len(gates):
        ng = len(gates)
        g = gpd.GeoDataFrame({"kind": gates["kind"].to_numpy() if "kind" in gates.columns else np.full(ng, "user", dtype=object),
                              "osm_id": np.full(ng, -1, dtype=np.int64)},
                             geometry=gates.to_crs(crs).geometry.values, crs=crs)
    found = find_gates(p, network, g, tolerance_m=tolerance_m, crossings=crossings)
    return Compounds(_count_gates(p, found), found)


def load_compounds(result: Any, settings: Mapping | None = None) -> Compounds:
    """Compounds of an audit: a user layer from the settings, else OpenStreetMap.

    Parameters
    ----------
    result : AuditResult
    settings : mapping, optional
        Default: ``result.config.extra["compounds"]`` over :data:`DEFAULTS`.

    Returns
    -------
    Compounds
    """
    s = compound_settings(settings if settings is not None else result.config.extra.get("compounds"))
    st = result.study
    if s.get("polygons"):

        poly = read_layer(s["polygons"], what="compounds", geom_types=("polygon",), name="compounds").to_crs(st.crs)
        gates = _user_gates(s, st.crs)
        c = compounds_from_layers(poly, gates, st.network, crossings=bool(s["crossings"]) and not s["user_gates_only"],
                                  tolerance_m=float(s["gate_tolerance_m"]), min_area_m2=float(s["min_area_m2"]),
                                  name_field=str(s.get("name_field") or "name"))
        st.provenance["compounds"] = str(s["polygons"])
        return c
    if st.osm is None:
        warnings.warn("no OpenStreetMap extract and no compound layer: the compound model has no compounds.",
                      GeoplanWarning, stacklevel=2)
        return compounds_from_layers(gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=st.crs), crs=st.crs), None, None)
    rule = s["regional_rule"]
    st.provenance["compounds"] = ("OpenStreetMap " + ", ".join(f"{k}={'|'.join(v) if v is not True else '*'}"
                                                               for k, v in s["osm_tags"].items())
                                  + f" with evidence of walls ({', '.join(s['evidence']) or 'none'}"
                                  + (f"; regional rule {rule if isinstance(rule, str) else 'given'}" if rule else "")
                                  + ") and walled polygons")
    margin = shapely.buffer(st.area, 50.0)
    return compounds_from_osm(st.osm, st.crs, st.network, s, area=margin)
