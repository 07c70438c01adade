"""Residential land cells and the residents living on them.

Residential land is cut into *cells*: the pieces of residential land inside
each square of a grid (default 25 m), further split by analysis unit and by
historic-cultural district.  The cells partition residential land exactly,
so covered + uncovered area = residential area in every unit and scope.

Residents come from a population GeoTIFF (any CRS; each raster cell's count
is spread over the residential land inside it, so the total is conserved),
from a count per unit (census or WorldPop per jiedao or community; each unit's
count is spread over its residential land, or its residential buildings where
mapped, so every unit's total is conserved) or, when neither is given, from
residential buildings (footprint x levels, scaled to a known total), written
out as a GeoTIFF for inspection and reuse.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import DataError, GeoplanWarning
from .sources.tags import tag_values
from .errors import UsageError

__all__ = ["Population", "residential_cells", "population_from_raster", "population_from_buildings",
           "population_from_units", "assign_population", "residential_land_by_unit"]


@dataclass
class Population:
    """Where the residents figure came from.

    Attributes
    ----------
    method : str
        ``"raster"``, ``"units"`` (a count per unit), ``"buildings"`` or ``"land-area"`` (no buildings:
        spread by area) or ``"none"``.
    total : float
        Residents allocated to residential land inside the study area.
    outside_residential : float
        Residents of the raster that fall outside residential land (not measured).
    points : GeoDataFrame or None
        Residential buildings with a ``residents`` column (building method).
    grid : tuple or None
        ``(array, transform, crs)`` of the population surface, for writing a GeoTIFF.
    note : str
        A sentence for the report.
    by_unit : DataFrame or None
        With a count per unit: ``unit_id``, ``unit_name``, ``population`` (given), ``residents``
        (placed on residential land), ``spread_by`` (``buildings``, ``land`` or ``not placed``).
    """

    method: str
    total: float
    outside_residential: float = 0.0
    points: gpd.GeoDataFrame | None = None
    grid: tuple | None = None
    note: str = ""
    by_unit: pd.DataFrame | None = None


def residential_cells(
    residential: gpd.GeoDataFrame,
    units: gpd.GeoDataFrame,
    historic: gpd.GeoDataFrame | None,
    cell_size: float,
) -> gpd.GeoDataFrame:
    """Cut residential land into grid cells, split by unit and historic district.

    Parameters
    ----------
    residential : GeoDataFrame
        Non-overlapping residential land polygons (projected CRS).
    units : GeoDataFrame
        ``unit_id``, ``unit_name`` polygons.
    historic : GeoDataFrame or None
        Historic-cultural district polygons.
    cell_size : float
        Grid size in metres.

    Returns
    -------
    GeoDataFrame
        ``cell_id``, ``unit_id``, ``unit_name``, ``historic`` (bool), ``area_m2`` and, when
        ``residential`` has a ``source`` column (``mapped`` / ``inferred``), ``residential_source``.
    """
    crs = residential.crs
    res = shapely.union_all(residential.geometry.values)
    x0, y0, x1, y1 = res.bounds
    xs = np.arange(np.floor(x0 / cell_size) * cell_size, x1, cell_size)
    ys = np.arange(np.floor(y0 / cell_size) * cell_size, y1, cell_size)
    gx, gy = np.meshgrid(xs, ys)
    boxes = shapely.box(gx.ravel(), gy.ravel(), gx.ravel() + cell_size, gy.ravel() + cell_size)
    # residential pieces per grid square
    tree = shapely.STRtree(residential.geometry.values)
    bi, ri = tree.query(boxes, predicate="intersects")
    pieces = _intersection(boxes[bi], np.asarray(residential.geometry.values, dtype=object)[ri])
    source = residential["source"].to_numpy(object)[ri] if "source" in residential.columns else None
    # split by unit
    utree = shapely.STRtree(units.geometry.values)
    pi, ui = utree.query(pieces, predicate="intersects")
    pieces = _intersection(pieces[pi], np.asarray(units.geometry.values, dtype=object)[ui])
    source = source[pi] if source is not None else None
    unit_id = units["unit_id"].to_numpy()[ui]
    unit_name = units["unit_name"].to_numpy()[ui]
    hist = np.zeros(len(pieces), dtype=bool)
    if historic is not None and len(historic):
        h = shapely.union_all(historic.geometry.values)
        inside, outside = _split(pieces, h)
        pieces = np.concatenate([outside, inside])
        unit_id = np.concatenate([unit_id, unit_id])
        unit_name = np.concatenate([unit_name, unit_name])
        source = np.concatenate([source, source]) if source is not None else None
        hist = np.concatenate([np.zeros(len(outside), bool), np.ones(len(inside), bool)])
    pieces = shapely.make_valid(pieces)
    # keep only the polygonal part of each piece (intersections can add slivers of lines)
    pieces = np.array([_polygonal(g) for g in pieces], dtype=object)
    area = shapely.area(pieces)
    keep = area > 1e-6
    cells = gpd.GeoDataFrame(
        {"unit_id": unit_id[keep], "unit_name": unit_name[keep], "historic": hist[keep], "area_m2": area[keep]},
        geometry=pieces[keep],
        crs=crs,
    )
    if source is not None:
        cells["residential_source"] = source[keep]
    cells.insert(0, "cell_id", np.arange(len(cells)))
    return cells


def _intersection(parts: np.ndarray, polys: np.ndarray) -> np.ndarray:
    """``shapely.intersection(parts, polys)`` pair by pair, overlaying only the parts that cross a boundary.

    A grid square or piece that lies inside its polygon is its own intersection: an
    overlay with a large polygon (a jiedao, a block of land) costs as much for a square
    deep inside it as for one on its edge.
    """
    if len(parts) == 0:
        return shapely.intersection(parts, polys)
    shapely.prepare(polys)
    inside = shapely.contains_properly(polys, parts)
    out = np.array(parts, dtype=object)
    cross = ~inside
    out[cross] = shapely.intersection(parts[cross], polys[cross])
    return out


def _split(parts: np.ndarray, zone: Any) -> tuple[np.ndarray, np.ndarray]:
    """The part of each geometry inside ``zone`` and the part outside, overlaying only those on its edge."""
    empty = shapely.Polygon()
    shapely.prepare(zone)
    inside = shapely.contains_properly(zone, parts)
    apart = ~shapely.intersects(zone, parts)
    edge = ~(inside | apart)
    a = np.full(len(parts), empty, dtype=object)
    b = np.full(len(parts), empty, dtype=object)
    a[inside] = parts[inside]
    b[apart] = parts[apart]
    a[edge] = shapely.intersection(parts[edge], zone)
    b[edge] = shapely.difference(parts[edge], zone)
    return a, b


def _polygonal(g: Any) -> Any:
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    if g.geom_type == "GeometryCollection":
        polys = [p for p in g.geoms if p.geom_type in ("Polygon", "MultiPolygon")]
        return shapely.union_all(polys) if polys else shapely.Polygon()
    return shapely.Polygon()


def population_from_raster(path: str | Path, cells: gpd.GeoDataFrame, area: Any) -> tuple[np.ndarray, Population]:
    """Spread a population raster over residential cells, conserving totals.

    Each raster cell's count is divided among the residential cells inside it in
    proportion to their area inside it (dasymetric allocation), in the raster's
    own CRS, so no resampling error is introduced.

    Parameters
    ----------
    path : str or Path
        Population GeoTIFF (counts per pixel), any CRS.
    cells : GeoDataFrame
        Residential cells (projected CRS).
    area : shapely geometry
        Study area in the cells' CRS.

    Returns
    -------
    residents : ndarray
        Residents per residential cell.
    Population
    """
    import rasterio
    from rasterio.errors import RasterioIOError
    from rasterio.features import geometry_mask

    path = Path(path)
    if not path.exists():
        raise DataError(f"population raster not found: {path}", hint="Check the path given to --population.")
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        detail = " ".join(str(exc).split())
        raise DataError(f"cannot read population raster {path}: {detail}",
                        hint="Give a GeoTIFF of residents per pixel (--population FILE.tif).") from None
    with src:
        if src.crs is None:
            raise DataError(f"population raster {path} has no CRS.",
                            hint="Assign the CRS it was made in (e.g. gdal_edit.py -a_srs EPSG:4326 FILE.tif).")
        a_r = gpd.GeoSeries([area], crs=cells.crs).to_crs(src.crs).iloc[0]
        from rasterio.windows import from_bounds

        bounds = src.bounds
        if not shapely.box(*bounds).intersects(a_r):
            fmt = (lambda v: f"{v:.4f}") if src.crs.is_geographic else (lambda v: f"{v:.0f}")
            raise DataError(
                f"population raster {path} does not overlap the study area: the raster covers "
                f"{', '.join(map(fmt, bounds))}, the study area {', '.join(map(fmt, a_r.bounds))} "
                f"(x/y min, max in {src.crs.to_string()}).",
                hint="Give a raster of this area, or fix its CRS if it is labelled wrongly.",
            )
        if src.count > 1:
            warnings.warn(f"population raster {path} has {src.count} bands: band 1 is read as residents per pixel.",
                          GeoplanWarning, stacklevel=2)
        # every pixel touching the area's bounding box: offsets floored, ends ceiled (rounding the
        # lengths to the nearest pixel could drop the last row or column of residents)
        w = from_bounds(*a_r.bounds, transform=src.transform)
        c0, r0 = math.floor(w.col_off), math.floor(w.row_off)
        c1, r1 = math.ceil(w.col_off + w.width), math.ceil(w.row_off + w.height)
        try:
            win = rasterio.windows.Window(c0, r0, c1 - c0, r1 - r0).intersection(
                rasterio.windows.Window(0, 0, src.width, src.height))
        except rasterio.errors.WindowError:
            raise DataError(f"population raster {path} does not overlap the study area.",
                            hint="Give a raster of this area, or fix its CRS if it is labelled wrongly.") from None
        band = src.read(1, window=win, masked=True).astype(float)
        transform = src.window_transform(win)
    values = band.filled(0.0)
    if np.isnan(values).any():
        values = np.nan_to_num(values, nan=0.0)
    if (values < 0).any():
        n_neg = int((values < 0).sum())
        raise DataError(
            f"population raster {path} has {n_neg} negative pixels in the study area (min {values.min():g}).",
            hint="If they mean 'no data', set the raster's nodata value (e.g. gdal_edit.py -a_nodata "
            f"{values.min():g} FILE.tif) so those pixels are read as no data.",
        )
    # only pixels whose centre is in the study area count
    inside = geometry_mask([a_r], out_shape=values.shape, transform=transform, invert=True, all_touched=False)
    rows, cols = np.nonzero((values > 0) & inside)
    pix_val = values[rows, cols]
    x0, y0 = transform * (cols, rows)
    x1, y1 = transform * (cols + 1, rows + 1)
    pix = shapely.box(np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1))
    cells_r = cells.to_crs(src.crs).geometry.values
    tree = shapely.STRtree(cells_r)
    pi, ci = tree.query(pix, predicate="intersects")
    share = shapely.area(shapely.intersection(pix[pi], cells_r[ci]))
    df = pd.DataFrame({"pix": pi, "cell": ci, "share": share})
    tot = df.groupby("pix")["share"].transform("sum")
    df = df[tot > 0]
    df["res"] = pix_val[df["pix"].to_numpy()] * df["share"] / tot[tot > 0]
    residents = np.zeros(len(cells))
    np.add.at(residents, df["cell"].to_numpy(), df["res"].to_numpy())
    total_in = float(pix_val.sum())
    outside = total_in - float(residents.sum())
    if total_in <= 0:
        warnings.warn(f"population raster {path} has no residents (all pixels 0 or no data) in the study area: "
                      "population-weighted figures are not available.", GeoplanWarning, stacklevel=2)
    note = (f"residents from population raster {path.name}: {total_in:,.0f} in the study area, "
            f"{residents.sum():,.0f} on residential land, {outside:,.0f} outside residential land (not measured)")
    return residents, Population("raster", float(residents.sum()), outside, None, (values * inside, transform, src.crs), note)


def population_from_buildings(
    buildings: gpd.GeoDataFrame,
    cells: gpd.GeoDataFrame,
    *,
    total: float | None,
    floor_area_per_person: float,
    default_levels: float,
    non_residential: list[str],
    raster_cell: float,
) -> tuple[np.ndarray, Population]:
    """Estimate residents from residential building floor area.

    Buildings on residential land, except those tagged as non-residential
    (``building=school`` ...), weigh ``footprint area x levels`` (levels from
    ``building:levels``, else ``height / 3 m``, else ``default_levels``).
    Residents = weight / ``floor_area_per_person``, or scaled so that they sum
    to ``total`` when given.  With no such buildings, residents are spread
    over residential land by area (needs ``total``).

    Returns
    -------
    residents : ndarray
        Residents per residential cell.
    Population
    """
    crs = cells.crs
    b = buildings
    res_union = shapely.union_all(cells.geometry.values)
    if len(b):
        kind = tag_values(b, "building").fillna("yes").astype(str)
        b = b[~kind.isin(non_residential)]
        rep = b.geometry.representative_point()
        b = b[rep.within(res_union)] if len(b) else b
    if len(b) == 0:
        if not total:
            residents = np.zeros(len(cells))
            return residents, Population("none", 0.0, note="no residential buildings and no population total: "
                                         "population-weighted figures are not available")
        residents = total * cells["area_m2"].to_numpy() / cells["area_m2"].sum()
        return residents, Population("land-area", float(total), note=f"{total:,.0f} residents spread over residential land by area")
    levels = pd.to_numeric(tag_values(b, "building:levels"), errors="coerce")
    height = pd.to_numeric(tag_values(b, "height").astype(str).str.extract(r"([\d.]+)")[0], errors="coerce")
    levels = levels.fillna(height / 3.0).fillna(default_levels).clip(lower=1)
    weight = b.geometry.area.to_numpy() * levels.to_numpy()
    people = weight / floor_area_per_person
    if total:
        people = people * (float(total) / people.sum())
    pts = gpd.GeoDataFrame(
        {"osm_id": b["id"].to_numpy() if "id" in b else np.arange(len(b)), "levels": levels.to_numpy(),
         "floor_area_m2": weight, "residents": people},
        geometry=b.geometry.representative_point().values, crs=crs,
    )
    j = gpd.sjoin(pts, cells[["cell_id", "geometry"]], predicate="within", how="left")
    j = j[~j.index.duplicated()]
    residents = np.zeros(len(cells))
    ok = j["cell_id"].notna()
    np.add.at(residents, j.loc[ok, "cell_id"].astype(int).to_numpy(), j.loc[ok, "residents"].to_numpy())
    # a point on a shared cell border can miss every cell: give it to the nearest
    lost = j.loc[~ok]
    if len(lost):
        near = gpd.sjoin_nearest(lost.drop(columns=["index_right", "cell_id"], errors="ignore"), cells[["cell_id", "geometry"]])
        near = near[~near.index.duplicated()]
        np.add.at(residents, near["cell_id"].astype(int).to_numpy(), near["residents"].to_numpy())
    grid = _rasterize_points(pts, raster_cell)
    basis = f"scaled to {float(total):,.0f}" if total else f"{floor_area_per_person:g} m² floor area per person"
    note = f"residents estimated from {len(pts):,} residential buildings (footprint × levels, {basis})"
    return residents, Population("buildings", float(residents.sum()), 0.0, pts, grid, note)


def population_from_units(
    units: pd.DataFrame,
    cells: gpd.GeoDataFrame,
    buildings: gpd.GeoDataFrame,
    *,
    floor_area_per_person: float,
    default_levels: float,
    non_residential: list[str],
    raster_cell: float,
    source: str = "",
) -> tuple[np.ndarray, Population]:
    """Spread each unit's residents over its residential land, conserving every unit's total.

    Within a unit, residents go to residential buildings in proportion to their
    floor area (footprint x levels, as :func:`population_from_buildings`) when the
    unit has residential buildings on its residential land, else to its
    residential cells in proportion to their area.  A unit with residents but no
    residential land places none (reported: ``outside_residential``).

    Parameters
    ----------
    units : DataFrame
        ``unit_id``, ``unit_name``, ``population`` (residents per unit).
    cells : GeoDataFrame
        Residential cells with ``unit_id`` and ``area_m2``.
    buildings : GeoDataFrame
        Buildings of the study area (may be empty).
    source : str
        Where the counts come from, for the note.

    Returns
    -------
    residents : ndarray
        Residents per residential cell; per unit they sum to the unit's count.
    Population
    """
    residents = np.zeros(len(cells))
    pts = None
    bweight = np.zeros(len(cells))
    if buildings is not None and len(buildings):
        bweight, info = population_from_buildings(
            buildings, cells, total=None, floor_area_per_person=floor_area_per_person, default_levels=default_levels,
            non_residential=non_residential, raster_cell=raster_cell)
        pts = info.points
    uid = cells["unit_id"].to_numpy()
    area = cells["area_m2"].to_numpy(float)
    rows = []
    for _, u in units.iterrows():
        pop = float(u["population"]) if pd.notna(u["population"]) else 0.0
        m = uid == u["unit_id"]
        if pop <= 0 or not m.any():
            rows.append({"unit_id": u["unit_id"], "unit_name": u["unit_name"], "population": pop, "residents": 0.0,
                         "spread_by": "not placed" if pop > 0 else "no residents"})
            continue
        w = bweight[m]
        by = "buildings" if w.sum() > 0 else "land"
        if by == "land":
            w = area[m]
        residents[m] = pop * w / w.sum()
        rows.append({"unit_id": u["unit_id"], "unit_name": u["unit_name"], "population": pop,
                     "residents": float(residents[m].sum()), "spread_by": by})
    table = pd.DataFrame(rows, columns=["unit_id", "unit_name", "population", "residents", "spread_by"])
    given = float(table["population"].sum())
    placed = float(residents.sum())
    lost = table[table["spread_by"] == "not placed"]
    if len(lost):
        warnings.warn(
            f"{len(lost)} units have residents but no residential land, so their {lost['population'].sum():,.0f} residents "
            f"are not placed: {', '.join(lost['unit_name'].astype(str).head(6))}"
            f"{' ...' if len(lost) > 6 else ''} (infer residential land from street blocks with "
            "residential.infer: true, or give a land-use layer).", GeoplanWarning, stacklevel=3)
    n_b = int((table["spread_by"] == "buildings").sum())
    n_l = int((table["spread_by"] == "land").sum())
    note = (f"{source or 'residents per unit'}: {given:,.0f} residents in {int((table['population'] > 0).sum())} units, "
            f"spread over residential buildings in {n_b} units and over residential land by area in {n_l}; "
            f"{placed:,.0f} placed on residential land")
    if len(lost):
        note += f", {given - placed:,.0f} not placed ({len(lost)} units without residential land)"
    centre = gpd.GeoDataFrame({"residents": residents}, geometry=shapely.point_on_surface(cells.geometry.values),
                              crs=cells.crs)
    grid = _rasterize_points(centre[centre["residents"] > 0], raster_cell) if (residents > 0).any() else None
    return residents, Population("units", placed, given - placed, pts, grid, note, table)


def _rasterize_points(pts: gpd.GeoDataFrame, size: float) -> tuple:
    from rasterio.transform import from_origin

    x, y = pts.geometry.x.to_numpy(), pts.geometry.y.to_numpy()
    x0, y1 = np.floor(x.min() / size) * size, np.ceil(y.max() / size) * size + (size if y.max() % size == 0 else 0)
    ncol = int(np.floor((x.max() - x0) / size)) + 1
    nrow = int(np.floor((y1 - y.min()) / size)) + 1
    col = np.floor((x - x0) / size).astype(int)
    row = np.floor((y1 - y) / size).astype(int)
    arr = np.zeros((nrow, ncol), dtype="float64")
    np.add.at(arr, (row, col), pts["residents"].to_numpy())
    return arr, from_origin(x0, y1, size, size), pts.crs


def assign_population(study: Any, cells: gpd.GeoDataFrame, pop_cfg: dict, raster: str | None) -> Population:
    """Add a ``residents`` column to ``cells``: from a raster, a count per unit, or buildings.

    A population raster wins; then the unit layer's population field (named in
    ``population.unit_field``, or recognised by its name with ``auto``) unless a
    ``population.total`` is given with an auto-detected field; then buildings.
    """
    units = study.units
    has_units = "population" in units.columns
    explicit = str(pop_cfg.get("unit_field", "auto") or "none").strip().lower() not in ("auto", "none", "null", "")
    note_skip = ""
    if raster and has_units:
        if explicit:

            raise UsageError("two population sources: a population raster and the unit layer's population field "
                             f"{pop_cfg.get('unit_field')!r}.", hint="Give one of them.")
        note_skip = "; the unit layer's population field is not used (a raster was given)"
    use_units = has_units and not raster and (explicit or not pop_cfg.get("total"))
    if has_units and not raster and not use_units:
        note_skip = "; the unit layer's population field is not used (a population total was given)"
    if raster:
        residents, info = population_from_raster(raster, cells, study.area)
    elif use_units:
        residents, info = population_from_units(
            units, cells, study.buildings,
            floor_area_per_person=float(pop_cfg.get("floor_area_per_person_m2", 35)),
            default_levels=float(pop_cfg.get("default_levels", 3)),
            non_residential=list(pop_cfg.get("non_residential_buildings", [])),
            raster_cell=float(pop_cfg.get("raster_cell_m", 100)),
            source=(study.provenance or {}).get("population per unit", ""),
        )
    else:
        residents, info = population_from_buildings(
            study.buildings, cells,
            total=pop_cfg.get("total"),
            floor_area_per_person=float(pop_cfg.get("floor_area_per_person_m2", 35)),
            default_levels=float(pop_cfg.get("default_levels", 3)),
            non_residential=list(pop_cfg.get("non_residential_buildings", [])),
            raster_cell=float(pop_cfg.get("raster_cell_m", 100)),
        )
    if info.method == "none":
        warnings.warn(info.note, GeoplanWarning, stacklevel=2)
    info.note += note_skip
    cells["residents"] = residents
    return info


def residential_land_by_unit(cells: pd.DataFrame, units: pd.DataFrame | None = None) -> pd.DataFrame | None:
    """Residential land and residents per unit by source (mapped in the land-use layer, inferred from street blocks).

    Parameters
    ----------
    cells : DataFrame
        Residential cells with ``residential_source`` and ``residents``.
    units : DataFrame, optional
        ``unit_id``, ``unit_name`` of every unit (units without residential land get zeros).

    Returns
    -------
    DataFrame or None
        ``unit_id``, ``unit_name``, ``mapped_m2``, ``inferred_m2``, ``land_m2``, ``inferred_pct``,
        ``residents_mapped``, ``residents_inferred``, ``residents`` (a last row ``unit_id`` 0: the
        whole area); None when the cells carry no ``residential_source``.
    """
    if "residential_source" not in cells.columns:
        return None
    src = cells["residential_source"].to_numpy(object)
    df = pd.DataFrame({"unit_id": cells["unit_id"].to_numpy(), "unit_name": cells["unit_name"].to_numpy(),
                       "mapped_m2": np.where(src == "mapped", cells["area_m2"], 0.0),
                       "inferred_m2": np.where(src == "inferred", cells["area_m2"], 0.0),
                       "residents_mapped": np.where(src == "mapped", cells["residents"], 0.0) if "residents" in cells else 0.0,
                       "residents_inferred": np.where(src == "inferred", cells["residents"], 0.0) if "residents" in cells else 0.0})
    g = df.groupby(["unit_id", "unit_name"], sort=True).sum().reset_index()
    if units is not None and len(units):  # units without residential land too
        g = units[["unit_id", "unit_name"]].merge(g, on=["unit_id", "unit_name"], how="left").fillna(0.0)
    tot = g.drop(columns=["unit_id", "unit_name"]).sum().to_frame().T
    tot.insert(0, "unit_id", 0)
    tot.insert(1, "unit_name", "all")
    g = pd.concat([g, tot], ignore_index=True)
    g["land_m2"] = g["mapped_m2"] + g["inferred_m2"]
    g["inferred_pct"] = 100 * np.divide(g["inferred_m2"], g["land_m2"], out=np.full(len(g), np.nan), where=g["land_m2"] > 0)
    g["residents"] = g["residents_mapped"] + g["residents_inferred"]
    return g[["unit_id", "unit_name", "mapped_m2", "inferred_m2", "land_m2", "inferred_pct",
              "residents_mapped", "residents_inferred", "residents"]]
