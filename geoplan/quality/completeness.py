"""How complete the map is behind each figure, per unit: the measures and the grade.

Each measure is a share from 0 to 1 of something the map should have, computed
per unit from the layers the audit read (nothing is fetched):

``residential_near_ways``
    1 - the share of residential land farther than ``distance_m`` (straight
    line) from any walkable way (a home the map gives no way to).
``footway_share``
    footways, paths, steps and pedestrian ways as a share of the walkable
    network's length (the ways that are not streets: the first thing missing
    from a map traced from imagery).
``landuse_mapped``
    the share of built-up land (the unit minus street space, parks, natural
    areas and water) inside a land-use polygon of any class.
``facilities``
    facilities found against what GB 50180 expects for the unit's residents:
    the mean over categories of ``min(1, found / expected)``.
``park_register``
    the share of a register's parks with a mapped park nearby (only when a
    register is given).

:func:`grade_units` turns the shares into letters with the thresholds of
``presets/quality.yaml``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["MEASURES", "facility_supply", "footway_share", "grade", "grade_units", "inside_area", "landuse_mapped",
           "register_match", "residential_far_from_ways"]

#: The completeness measures, in the order of the tables.
MEASURES = ("residential_near_ways", "footway_share", "landuse_mapped", "facilities", "park_register")


def inside_area(geoms: np.ndarray, zone: Any) -> np.ndarray:
    """Area of each polygon inside ``zone`` (exact overlay only for polygons on the zone's edge)."""
    area = shapely.area(geoms)
    if zone is None or zone.is_empty:
        return np.zeros(len(geoms))
    shapely.prepare(zone)
    inside = shapely.contains(zone, geoms)
    touch = shapely.intersects(zone, geoms) & ~inside
    out = np.where(inside, area, 0.0)
    out[touch] = shapely.area(shapely.intersection(geoms[touch], zone))
    return out


def residential_far_from_ways(cells: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, distance_m: float = 100.0) -> pd.DataFrame:
    """Residential land per unit farther than ``distance_m`` from every walkable way.

    Parameters
    ----------
    cells : GeoDataFrame
        Residential land cut by unit (``unit_id``, polygons; the audit's residential cells).
    edges : GeoDataFrame
        The walkable ways (line geometries, same CRS), every piece of the network.
    distance_m : float
        Straight-line distance (m).

    Returns
    -------
    DataFrame
        ``unit_id``, ``residential_m2``, ``far_m2`` and ``residential_near_ways`` (1 - far / residential).
    """
    geoms = np.asarray(cells.geometry.values, dtype=object)
    lines = np.asarray(edges.geometry.values, dtype=object)
    if len(lines) and len(geoms):
        x0, y0, x1, y1 = shapely.total_bounds(geoms)
        box = shapely.box(x0 - distance_m, y0 - distance_m, x1 + distance_m, y1 + distance_m)
        lines = lines[shapely.STRtree(lines).query(box, predicate="intersects")]
    # ways merged into long lines first: fewer, larger buffers to union (one buffer of the whole
    # multi-line is far slower in GEOS)
    merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines))) if len(lines) else lines
    zone = shapely.union_all(shapely.buffer(merged, distance_m, quad_segs=8)) if len(merged) else shapely.Polygon()
    area = shapely.area(geoms)
    far = area - inside_area(geoms, zone)
    df = pd.DataFrame({"unit_id": cells["unit_id"].to_numpy(), "residential_m2": area, "far_m2": np.clip(far, 0, None)})
    out = df.groupby("unit_id", sort=True).sum().reset_index()
    out["residential_near_ways"] = 1.0 - np.divide(out["far_m2"], out["residential_m2"],
                                                   out=np.full(len(out), np.nan), where=out["residential_m2"] > 0)
    return out


def footway_share(edges: gpd.GeoDataFrame, units: gpd.GeoDataFrame, highway: Sequence[str]) -> pd.DataFrame:
    """Length of the walkable network per unit and the share of footways, paths and the like.

    Each way is cut by the unit outlines (its length inside each unit counts there).

    Returns
    -------
    DataFrame
        ``unit_id``, ``network_km``, ``footway_km``, ``footway_share``.
    """
    uid = units["unit_id"].to_numpy()
    lines = np.asarray(edges.geometry.values, dtype=object)
    cls = edges["highway"].astype(str).to_numpy() if "highway" in edges.columns else np.full(len(edges), "")
    foot = np.isin(cls, list(highway))
    tree = shapely.STRtree(lines)
    ui, ei = tree.query(np.asarray(units.geometry.values, dtype=object), predicate="intersects")
    length = shapely.length(shapely.intersection(lines[ei], np.asarray(units.geometry.values, dtype=object)[ui]))
    total = np.bincount(ui, weights=length, minlength=len(units)) / 1000.0
    fw = np.bincount(ui, weights=length * foot[ei], minlength=len(units)) / 1000.0
    return pd.DataFrame({"unit_id": uid, "network_km": total, "footway_km": fw,
                         "footway_share": np.divide(fw, total, out=np.full(len(units), np.nan), where=total > 0)})


def landuse_mapped(units: gpd.GeoDataFrame, landuse: gpd.GeoDataFrame | None, not_built: Sequence[Any] = (),
                   street: Any = None) -> pd.DataFrame:
    """Built-up land per unit and the share of it inside a mapped land-use polygon (any class).

    Parameters
    ----------
    units : GeoDataFrame
        ``unit_id``, polygons.
    landuse : GeoDataFrame or None
        Land-use polygons of any class (None: no land-use layer, the share is NaN).
    not_built : sequence of geometries
        Land that is not built-up: parks, natural areas, water.
    street : geometry, optional
        The street space (also not built-up land and never a land use).

    Returns
    -------
    DataFrame
        ``unit_id``, ``built_up_m2``, ``mapped_m2``, ``landuse_mapped``.
    """
    geoms = np.asarray(units.geometry.values, dtype=object)
    open_land = [shapely.make_valid(g) for g in [*not_built, street] if g is not None and not shapely.is_empty(g)]
    if open_land:
        ol = shapely.union_all(open_land)
        built = shapely.difference(geoms, ol)
    else:
        built = geoms
    built_m2 = shapely.area(built)
    if landuse is None or not len(landuse):
        mapped = np.full(len(units), np.nan)
    else:
        lu = shapely.union_all(shapely.make_valid(np.asarray(landuse.geometry.values, dtype=object)))
        mapped = inside_area(np.asarray(built, dtype=object), lu)
    return pd.DataFrame({"unit_id": units["unit_id"].to_numpy(), "built_up_m2": built_m2, "mapped_m2": mapped,
                         "landuse_mapped": np.divide(mapped, built_m2, out=np.full(len(units), np.nan),
                                                     where=(built_m2 > 0) & np.isfinite(mapped))})


def facility_supply(facilities: pd.DataFrame | None, residents: pd.DataFrame, categories: Sequence[tuple[str, str]],
                    residents_per_level: Mapping[str, float]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Facilities found per 10,000 residents against the GB 50180 expectation, per unit and category.

    A life circle of a level holds at most ``residents_per_level[level]`` residents and has one
    facility of each category of that level: a unit of ``R`` residents should have at least
    ``R / residents_per_level[level]`` of them.

    Parameters
    ----------
    facilities : DataFrame or None
        One row per facility entry point: ``unit_id``, ``category``, ``fac_id`` (a facility with
        several entrances counts once).  None: the measure is not available.
    residents : DataFrame
        ``unit_id``, ``residents``.
    categories : sequence of (category id, level id)
    residents_per_level : mapping
        Level id -> residents one facility of the level serves at most.

    Returns
    -------
    by_category : DataFrame
        ``unit_id``, ``category``, ``level``, ``found``, ``per_10k``, ``expected``, ``expected_per_10k``, ``ratio``
        (found / expected, capped at 1).
    by_unit : DataFrame
        ``unit_id``, ``facilities`` (the mean ratio; NaN without residents or facilities data).
    """
    rows = []
    res = residents.set_index("unit_id")["residents"]
    counts = pd.Series(dtype=float)
    if facilities is not None and len(facilities):
        f = pd.DataFrame(facilities)[["unit_id", "category", "fac_id"]].dropna(subset=["unit_id"])
        counts = f.drop_duplicates(["category", "fac_id"]).groupby(["unit_id", "category"]).size()
    for uid, r in res.items():
        for cid, level in categories:
            per = float(residents_per_level.get(level, np.nan))
            found = float(counts.get((uid, cid), 0)) if facilities is not None else np.nan
            expected = r / per if per > 0 else np.nan
            ratio = min(1.0, found / expected) if expected > 0 and np.isfinite(found) else np.nan
            rows.append({"unit_id": uid, "category": cid, "level": level, "found": found,
                         "per_10k": 1e4 * found / r if r > 0 else np.nan, "expected": expected,
                         "expected_per_10k": 1e4 / per if per > 0 else np.nan, "ratio": ratio})
    by_cat = pd.DataFrame(rows, columns=["unit_id", "category", "level", "found", "per_10k", "expected",
                                         "expected_per_10k", "ratio"])
    by_unit = by_cat.groupby("unit_id", sort=True)["ratio"].mean().rename("facilities").reset_index() if len(by_cat) else \
        pd.DataFrame({"unit_id": res.index.to_numpy(), "facilities": np.nan})
    return by_cat, by_unit


def register_match(register: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, units: gpd.GeoDataFrame,
                   match_distance_m: float = 50.0) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Parks of a register with a mapped park within ``match_distance_m``, per unit.

    Parameters
    ----------
    register : GeoDataFrame
        The register's parks (points or polygons; same CRS).
    parks : GeoDataFrame
        The mapped parks (polygons).
    units : GeoDataFrame
        ``unit_id``, polygons: a register park belongs to the unit holding its representative point.

    Returns
    -------
    by_unit : DataFrame
        ``unit_id``, ``register_parks``, ``register_matched``, ``park_register`` (matched share).
    listing : GeoDataFrame
        The register's parks inside the units with ``unit_id``, ``matched`` and ``mapped_m`` (distance to
        the nearest mapped park).
    """
    rep = shapely.point_on_surface(np.asarray(register.geometry.values, dtype=object))
    utree = shapely.STRtree(np.asarray(units.geometry.values, dtype=object))
    ri, ui = utree.query(rep, predicate="within")
    first = pd.Series(ui, index=ri).groupby(level=0).first()
    unit_of = np.full(len(register), -1, dtype=np.int64)
    unit_of[first.index.to_numpy()] = units["unit_id"].to_numpy()[first.to_numpy()]
    dist = np.full(len(register), np.inf)
    if len(parks):
        ptree = shapely.STRtree(np.asarray(parks.geometry.values, dtype=object))
        (gi, _), d = ptree.query_nearest(np.asarray(register.geometry.values, dtype=object), return_distance=True,
                                         all_matches=False)
        dist[gi] = d
    listing = gpd.GeoDataFrame(register.drop(columns="geometry").reset_index(drop=True), geometry=rep, crs=register.crs)
    listing["unit_id"] = unit_of
    listing["mapped_m"] = dist
    listing["matched"] = dist <= match_distance_m
    listing = listing[listing["unit_id"] >= 0].reset_index(drop=True)
    g = listing.groupby("unit_id").agg(register_parks=("matched", "size"), register_matched=("matched", "sum"))
    out = pd.DataFrame({"unit_id": units["unit_id"].to_numpy()}).merge(g.reset_index(), on="unit_id", how="left")
    out[["register_parks", "register_matched"]] = out[["register_parks", "register_matched"]].fillna(0)
    out["park_register"] = np.divide(out["register_matched"], out["register_parks"],
                                     out=np.full(len(out), np.nan), where=out["register_parks"] > 0)
    return out, listing


def grade(share: float, thresholds: Mapping[str, float]) -> str | None:
    """The best letter whose threshold ``share`` reaches (``D`` below all); None for a missing share."""
    if share is None or not np.isfinite(share):
        return None
    for letter, lo in sorted(thresholds.items(), key=lambda kv: -float(kv[1])):
        if share >= float(lo) - 1e-12:
            return str(letter)
    return "D"


def grade_units(table: pd.DataFrame, settings: Mapping[str, Any]) -> pd.DataFrame:
    """Letters per measure and the unit grade, from the shares of ``table``.

    Parameters
    ----------
    table : DataFrame
        ``unit_id`` and one column per measure of :data:`MEASURES` present (shares 0..1, NaN = not available).
    settings : mapping
        The ``completeness`` section of ``presets/quality.yaml``: ``points``, ``overall``, ``measures``.

    Returns
    -------
    DataFrame
        ``table`` plus ``grade:<measure>`` per measure, ``points`` (the mean points of the measures
        available), ``grade`` (the unit's letter), ``weakest`` (the measure with the lowest letter) and
        ``measures_used``.
    """
    points = {str(k): float(v) for k, v in settings["points"].items()}
    out = table.copy()
    used = [m for m in MEASURES if m in out.columns]
    for m in used:
        thr = settings["measures"][m]["grades"]
        out[f"grade:{m}"] = [grade(v, thr) for v in out[m].to_numpy(float)]
    pts = np.array([[points[g] if isinstance(g, str) else np.nan for g in out[f"grade:{m}"]] for m in used]).T \
        if used else np.empty((len(out), 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a unit with no measure available: NaN
        mean = np.nanmean(pts, axis=1) if pts.size else np.full(len(out), np.nan)
    out["points"] = mean
    out["grade"] = [grade(v, settings["overall"]) for v in mean]
    weakest, listed = [], []
    for row in pts:
        ok = np.isfinite(row)
        listed.append(", ".join(m for m, k in zip(used, ok) if k))
        weakest.append(used[int(np.nanargmin(row))] if ok.any() else None)
    out["weakest"] = weakest
    out["measures_used"] = listed
    return out
