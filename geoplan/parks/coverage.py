"""Park service-radius coverage by straight line and by walking distance.

``euclidean``: the national standard's method; every park's boundary is
buffered by its tier's radius and the residential land inside the union is
measured exactly (polygon overlay).

``network``: the walk residents really make; one bounded multi-source pass
per tier from the parks' access points, residential cells snapped to the
nearest point on a street (snap distance added) and counted as served when
the walk is within the tier's radius.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .._util import ShowsInJupyter
from ..config import Rules
from ..network import Snapped, Sources, WalkNetwork, distances_by_group, reached_edge_parts, sources_by_group
from .fragments import fragment_homes

__all__ = ["ParkCoverage", "park_coverage", "euclidean_cover", "network_cover", "summarise", "tier_sources", "SCOPES"]

SCOPES = ("all", "outside_historic", "inside_historic")


@dataclass
class ParkCoverage(ShowsInJupyter):
    """Everything one park-coverage run measured.

    Attributes
    ----------
    rules : Rules
    methods : tuple of str
    parks : GeoDataFrame
        Selected parks with tier and radius (parks below every tier have tier None).
    access : GeoDataFrame
        Park access points used by the network method.
    cells : GeoDataFrame
        Residential cells with, per method ``m`` in (``euc``, ``net``): ``m_cov_m2``
        (covered area), ``m_res`` (covered residents), ``m_park`` (serving park id),
        ``m_dist`` (distance to it, m), ``m_tier``; and ``net_snap_m``.
    zones : GeoDataFrame
        Served zones per method and tier (``method``, ``tier``).
    blind_spots : GeoDataFrame
        Uncovered residential land per method and unit, ranked by residents then area.
    by_unit : DataFrame
        Coverage per unit, scope and method.
    overall : DataFrame
        Coverage for the whole area per scope, method and tier.
    on_fragments : GeoDataFrame or None
        Network method: residential cells whose nearest street is a detached fragment
        of the network, joined to the main network instead
        (:func:`~geoplan.parks.fragments.fragment_homes`).
    by_source, by_unit_source : DataFrame or None
        With residential land of two sources (mapped in the land-use layer, inferred from
        street blocks): the same figures per ``residential_source`` (``mapped``,
        ``inferred`` and ``both``), for the whole area and per unit.
    """

    rules: Rules
    methods: tuple
    parks: gpd.GeoDataFrame
    access: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame
    blind_spots: gpd.GeoDataFrame
    by_unit: pd.DataFrame
    overall: pd.DataFrame
    has_historic: bool = False
    extra: dict = field(default_factory=dict)
    on_fragments: gpd.GeoDataFrame | None = None
    by_source: pd.DataFrame | None = None
    by_unit_source: pd.DataFrame | None = None

    def coverage(self, method: str = "euclidean", scope: str = "all", measure: str = "land", tier: str = "all") -> float:
        """One coverage figure in percent (``measure`` = ``land`` or ``residents``)."""
        o = self.overall
        row = o[(o["method"] == method) & (o["scope"] == scope) & (o["tier"] == tier)]
        if row.empty:
            return float("nan")
        return float(row[f"{'land' if measure == 'land' else 'residents'}_pct"].iloc[0])


def _counted(parks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return parks[parks["tier"].notna()]


def _covered_area(geoms: np.ndarray, zone: Any) -> np.ndarray:
    """Area of each geometry inside ``zone``: exact overlay only for cells on the zone's edge."""
    shapely.prepare(zone)
    area = shapely.area(geoms)
    inside = shapely.contains(zone, geoms)
    touch = shapely.intersects(zone, geoms) & ~inside
    out = np.where(inside, area, 0.0)
    out[touch] = shapely.area(shapely.intersection(geoms[touch], zone))
    return out


def euclidean_cover(cells: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, rules: Rules) -> tuple[pd.DataFrame, list]:
    """Straight-line coverage of every residential cell.

    Returns
    -------
    cover : DataFrame
        Per cell: ``euc_cov_m2`` and, per tier, ``euc_cov_m2:<tier>``; ``euc_park``,
        ``euc_dist``, ``euc_tier`` of the nearest serving park (distance from the
        cell's representative point to the park boundary, 0 inside).
    zones : list of (tier, geometry)
    """
    geoms = cells.geometry.values
    counted = _counted(parks)
    zones = []
    out = pd.DataFrame(index=cells.index)
    best_d = np.full(len(cells), np.inf)
    best_p = np.full(len(cells), -1, dtype=np.int64)
    best_t = np.full(len(cells), None, dtype=object)
    rep = shapely.point_on_surface(geoms)
    for t in rules.tiers:
        pt = counted[counted["tier"] == t.id]
        zone = shapely.union_all(shapely.buffer(pt.geometry.values, t.radius_m, quad_segs=16)) if len(pt) else shapely.Polygon()
        zones.append((t.id, zone))
        out[f"euc_cov_m2:{t.id}"] = _covered_area(geoms, zone) if len(pt) else 0.0
        if len(pt):
            tree = shapely.STRtree(pt.geometry.values)
            (ci, pi), d = tree.query_nearest(rep, return_distance=True, all_matches=False)
            better = (d <= t.radius_m) & (d < best_d[ci])
            best_d[ci[better]] = d[better]
            best_p[ci[better]] = pt["park_id"].to_numpy()[pi[better]]
            best_t[ci[better]] = t.id
    all_zone = shapely.union_all([z for _, z in zones])
    zones.insert(0, ("all", all_zone))
    out["euc_cov_m2"] = _covered_area(geoms, all_zone) if not all_zone.is_empty else 0.0
    out["euc_park"] = best_p
    out["euc_dist"] = best_d
    out["euc_tier"] = best_t
    return out, zones


def network_cover(
    cells: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
    access: gpd.GeoDataFrame,
    network: WalkNetwork,
    rules: Rules,
    snapped: Snapped | None = None,
) -> tuple[pd.DataFrame, list]:
    """Walking-distance coverage of every residential cell (one kernel pass per tier).

    ``snapped`` gives where each cell joins the network (e.g. through its
    compound's gate); default: the nearest point on any street to the cell's
    representative point.

    Returns
    -------
    cover : DataFrame
        Per cell: ``net_dist`` / ``net_park`` / ``net_tier`` of the nearest serving
        park, ``net_dist:<tier>`` per tier, ``net_snap_m``, ``net_fragment_m`` (distance
        to the detached fragment of the network passed by the snapping, NaN where
        none), ``net_covered``.
    zones : list of (tier, geometry)
        Network service areas: reached street parts buffered by half a cell.
    """
    if snapped is None:
        snapped = network.snap(shapely.point_on_surface(cells.geometry.values))
    out = pd.DataFrame(index=cells.index)
    out["net_snap_m"] = snapped.offset
    out["net_fragment_m"] = snapped.fragment_offset if snapped.fragment_offset is not None else np.nan
    best_d = np.full(len(cells), np.inf)
    best_p = np.full(len(cells), -1, dtype=np.int64)
    best_t = np.full(len(cells), None, dtype=object)
    zones = []
    passes = distances_by_group(network, tier_sources(network, _counted(parks), access, rules),
                                snapped, {t.id: t.radius_m for t in rules.tiers})
    for tid, g in passes.items():
        out[f"net_dist:{tid}"] = g.dist
        if g.reach is None:
            zones.append((tid, shapely.Polygon()))
            continue
        better = g.dist < best_d
        best_d[better] = g.dist[better]
        best_p[better] = g.label[better]
        best_t[better] = tid
        zones.append((tid, _street_zone(reached_edge_parts(network, g.reach).geometry.values, 15.0)))
    zones.insert(0, ("all", shapely.union_all([z for _, z in zones])))
    out["net_dist"] = best_d
    out["net_park"] = best_p
    out["net_tier"] = best_t
    out["net_covered"] = np.isfinite(best_d)
    return out, zones


def tier_sources(network: WalkNetwork, counted: pd.DataFrame, access: gpd.GeoDataFrame, rules: Rules,
                 share: float | None = None) -> dict[str, Sources]:
    """The access points of the counted parks as walking sources, one group per tier of the rules.

    Parameters
    ----------
    network : WalkNetwork
    counted : DataFrame
        Parks with a ``tier`` (``park_id``, ``tier``).
    access : GeoDataFrame
        Access points (``park_id``, point geometry).
    rules : Rules
    share : float, optional
        Main-piece share the access points are snapped with (default: the network's).

    Returns
    -------
    dict
        Tier id -> :class:`~geoplan.network.Sources` labelled by ``park_id`` (empty for a tier without parks).
    """
    acc = access.merge(counted[["park_id", "tier"]], on="park_id")
    keys = [t.id for t in rules.tiers]
    if len(acc) == 0:
        return {k: Sources() for k in keys}
    return sources_by_group(network.snap(acc.geometry.values, share=share), acc["park_id"].to_numpy(),
                            acc["tier"].to_numpy(object), keys)


def _street_zone(lines: np.ndarray, width: float) -> Any:
    """Reached street parts buffered by ``width``: merged into long lines first (fewer, larger buffers to union)."""
    if len(lines) == 0:
        return shapely.Polygon()
    merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
    return shapely.union_all(shapely.buffer(merged, width, quad_segs=4))


def _outside(geoms: np.ndarray, zone: Any) -> np.ndarray:
    """The part of each geometry outside ``zone``: an exact difference only for geometries on the zone's edge."""
    if zone is None or zone.is_empty:
        return geoms
    shapely.prepare(zone)
    inside = shapely.contains(zone, geoms)
    touch = shapely.intersects(zone, geoms) & ~inside
    out = geoms.copy()
    out[inside] = shapely.Polygon()
    out[touch] = shapely.difference(geoms[touch], zone)
    return out


def _blind_spots(cells: gpd.GeoDataFrame, method: str, zone: Any) -> gpd.GeoDataFrame:
    """Uncovered residential land per unit, dissolved into contiguous polygons."""
    if method == "euclidean":
        part = _outside(np.asarray(cells.geometry.values, dtype=object), zone)
        frac = shapely.area(part) / cells["area_m2"].to_numpy()
    else:
        unc = ~cells["net_covered"].to_numpy()
        part = np.where(unc, cells.geometry.values, shapely.Polygon())
        frac = unc.astype(float)
    df = gpd.GeoDataFrame({"unit_id": cells["unit_id"].to_numpy(), "unit_name": cells["unit_name"].to_numpy(),
                           "residents": cells["residents"].to_numpy() * frac},
                          geometry=part, crs=cells.crs)
    df = df[~df.geometry.is_empty & (df.geometry.area > 0.01)]
    if df.empty:  # the columns of a non-empty result (the maps and the report read 'rank'), no rows
        return gpd.GeoDataFrame({"method": pd.Series([], dtype=object), "rank": pd.Series([], dtype=np.int64),
                                 "unit_id": cells["unit_id"].iloc[:0].to_numpy(),
                                 "unit_name": cells["unit_name"].iloc[:0].to_numpy(),
                                 "area_m2": pd.Series([], dtype=float), "residents": pd.Series([], dtype=float)},
                                geometry=[], crs=cells.crs)
    pieces = []
    for (uid, uname), grp in df.groupby(["unit_id", "unit_name"], sort=True):
        merged = gpd.GeoSeries([shapely.union_all(grp.geometry.values)], crs=cells.crs).explode(ignore_index=True)
        merged = merged[merged.geom_type.isin(["Polygon", "MultiPolygon"])]
        rp = shapely.point_on_surface(grp.geometry.values)
        tree = shapely.STRtree(merged.values)
        gi, mi = tree.query(rp, predicate="intersects")
        res = np.zeros(len(merged))
        first = pd.Series(mi, index=gi).groupby(level=0).first()
        np.add.at(res, first.to_numpy(), grp["residents"].to_numpy()[first.index.to_numpy()])
        pieces.append(gpd.GeoDataFrame({"unit_id": uid, "unit_name": uname, "area_m2": merged.area.to_numpy(), "residents": res},
                                       geometry=merged.values, crs=cells.crs))
    out = pd.concat(pieces, ignore_index=True)
    out = out.sort_values(["residents", "area_m2"], ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "method", method)
    out.insert(1, "rank", np.arange(1, len(out) + 1))
    return gpd.GeoDataFrame(out, geometry="geometry", crs=cells.crs)


def _scope_masks(cells: pd.DataFrame, has_historic: bool) -> dict:
    m = {"all": np.ones(len(cells), bool)}
    if has_historic:
        h = cells["historic"].to_numpy()
        m["outside_historic"] = ~h
        m["inside_historic"] = h
    return m


def summarise(cells: pd.DataFrame, rules: Rules, methods: tuple, has_historic: bool, by: list[str] | None = None) -> pd.DataFrame:
    """Coverage table: land and residents covered, per scope, method and tier.

    Parameters
    ----------
    cells : DataFrame
        Residential cells with the coverage columns of :func:`park_coverage`.
    rules, methods, has_historic
    by : list of str, optional
        Grouping columns (e.g. ``["unit_id", "unit_name"]``).

    Returns
    -------
    DataFrame with ``scope``, ``method``, ``tier``, ``land_m2``, ``covered_m2``,
    ``land_pct``, ``residents``, ``covered_residents``, ``residents_pct``.
    """
    rows = []
    area = cells["area_m2"].to_numpy()
    res = cells["residents"].to_numpy()
    for scope, mask in _scope_masks(cells, has_historic).items():
        for method in methods:
            for tier in ["all", *[t.id for t in rules.tiers]]:
                if method == "euclidean":
                    cov = cells["euc_cov_m2" if tier == "all" else f"euc_cov_m2:{tier}"].to_numpy()
                    frac = np.divide(cov, area, out=np.zeros_like(area), where=area > 0)
                else:
                    d = cells["net_dist" if tier == "all" else f"net_dist:{tier}"].to_numpy()
                    frac = np.isfinite(d).astype(float)
                    cov = area * frac
                df = pd.DataFrame({"land_m2": area * mask, "covered_m2": cov * mask, "residents": res * mask,
                                   "covered_residents": res * frac * mask})
                if by:
                    for c in by:
                        df[c] = cells[c].to_numpy()
                    g = df.groupby(by, sort=True).sum().reset_index()
                else:
                    g = df.sum().to_frame().T
                g.insert(0, "scope", scope)
                g.insert(1, "method", method)
                g.insert(2, "tier", tier)
                rows.append(g)
    out = pd.concat(rows, ignore_index=True)
    out["land_pct"] = 100 * np.divide(out["covered_m2"], out["land_m2"], out=np.full(len(out), np.nan), where=out["land_m2"] > 0)
    out["residents_pct"] = 100 * np.divide(out["covered_residents"], out["residents"], out=np.full(len(out), np.nan),
                                           where=out["residents"] > 0)
    return out


def park_coverage(
    cells: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
    rules: Rules,
    *,
    methods: tuple = ("euclidean", "network"),
    network: WalkNetwork | None = None,
    access: gpd.GeoDataFrame | None = None,
    has_historic: bool = False,
    snapped: Snapped | None = None,
    places: gpd.GeoDataFrame | None = None,
) -> ParkCoverage:
    """Park service-radius coverage of residential cells by one or both methods.

    Parameters
    ----------
    cells : GeoDataFrame
        Residential cells (:func:`~geoplan.residents.residential_cells`) with a
        ``residents`` column.
    parks : GeoDataFrame
        Output of :func:`~geoplan.parks.select_parks`.
    rules : Rules
    methods : tuple of str
        ``"euclidean"`` and/or ``"network"``.
    network : WalkNetwork
        Needed by the network method.
    access : GeoDataFrame
        Park access points (:func:`~geoplan.parks.access_points`), for the network method.
    has_historic : bool
        Whether the cells are split by historic-cultural districts (adds the two scopes).
    snapped : Snapped, optional
        Where each cell joins the walking network (network method); default:
        the nearest point on a street of the main network (:meth:`WalkNetwork.snap`).
    places : GeoDataFrame, optional
        Named residential areas, to name where homes on fragments of the network are.

    Returns
    -------
    ParkCoverage
    """
    cells = cells.copy()
    zones = []
    blind = []
    on_fragments = None
    if "euclidean" in methods:
        cov, z = euclidean_cover(cells, parks, rules)
        cells = cells.join(cov)
        frac = np.divide(cells["euc_cov_m2"], cells["area_m2"])
        cells["euc_res"] = cells["residents"] * frac
        zones += [("euclidean", t, g) for t, g in z]
        blind.append(_blind_spots(cells, "euclidean", z[0][1]))
    if "network" in methods:
        if network is None or access is None:
            raise ValueError("the network method needs the walking network and the park access points")
        if snapped is None:
            snapped = network.snap(shapely.point_on_surface(cells.geometry.values))
        on_fragments = fragment_homes(cells, network, snapped, places)
        if len(access):
            a_snap = network.snap(access.geometry.values)
            access = access.assign(snap_m=a_snap.offset, fragment_m=a_snap.fragment_offset
                                   if a_snap.fragment_offset is not None else np.nan)
        cov, z = network_cover(cells, parks, access, network, rules, snapped)
        cells = cells.join(cov)
        cells["net_cov_m2"] = np.where(cells["net_covered"], cells["area_m2"], 0.0)
        cells["net_res"] = np.where(cells["net_covered"], cells["residents"], 0.0)
        zones += [("network", t, g) for t, g in z]
        blind.append(_blind_spots(cells, "network", None))
    zones_gdf = gpd.GeoDataFrame({"method": [m for m, _, _ in zones], "tier": [t for _, t, _ in zones]},
                                 geometry=[g for _, _, g in zones], crs=cells.crs)
    blind_gdf = pd.concat(blind, ignore_index=True) if blind else gpd.GeoDataFrame(geometry=[], crs=cells.crs)
    blind_gdf = gpd.GeoDataFrame(blind_gdf, geometry="geometry", crs=cells.crs)
    overall = summarise(cells, rules, methods, has_historic)
    by_unit = summarise(cells, rules, methods, has_historic, by=["unit_id", "unit_name"])
    by_source = by_unit_source = None
    if "residential_source" in cells.columns:
        by_source = _with_both(summarise(cells, rules, methods, has_historic, by=["residential_source"]), overall, [])
        by_unit_source = _with_both(summarise(cells, rules, methods, has_historic,
                                              by=["unit_id", "unit_name", "residential_source"]), by_unit,
                                    ["unit_id", "unit_name"])
    return ParkCoverage(rules, tuple(methods), parks, access if access is not None else gpd.GeoDataFrame(geometry=[], crs=cells.crs),
                        cells, zones_gdf, blind_gdf, by_unit, overall, has_historic,
                        on_fragments=on_fragments, by_source=by_source, by_unit_source=by_unit_source)


def _with_both(per_source: pd.DataFrame, both: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Coverage per residential source plus the ``both`` rows (all residential land), sorted by key and source."""
    b = both.copy()
    b["residential_source"] = "both"
    out = pd.concat([per_source, b[per_source.columns]], ignore_index=True)
    order = {"mapped": 0, "inferred": 1, "both": 2}
    out["_o"] = out["residential_source"].map(order)
    out = out.sort_values([*keys, "_o"], kind="stable").drop(columns="_o")
    cols = [*keys, "residential_source"] + [c for c in out.columns if c not in (*keys, "residential_source")]
    return out[cols].reset_index(drop=True)
