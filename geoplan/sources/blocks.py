"""Residential land inferred from street blocks, where the land-use layer has none.

OpenStreetMap maps residential land unevenly: in Xicheng about 9 % of the
district, and none at all in four jiedao whose hutong quarters are untagged.
The inferred layer is the land the street network encloses that nothing else
claims: the urban blocks (faces of the street lines, closed by the study-area
boundary), minus the street space itself (half a carriageway per street
class), minus every land use, natural area, park, water body and site that is
not homes, minus the land already mapped as residential.  It is a *candidate*
residential land: unmapped offices, schools or government compounds inside a
block count as homes until a land-use layer says otherwise, so it is reported
apart from the mapped land, never merged into it silently.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["DEFAULT_HALF_WIDTH_M", "infer_residential_blocks", "street_blocks"]

#: Half the width of the street space by OSM highway class (metres); other classes use ``default``.
DEFAULT_HALF_WIDTH_M = {
    "motorway": 15.0, "trunk": 12.0, "primary": 10.0, "secondary": 8.0, "tertiary": 6.0,
    "motorway_link": 5.0, "trunk_link": 5.0, "primary_link": 4.0, "secondary_link": 4.0, "tertiary_link": 3.5,
    "residential": 3.0, "unclassified": 3.0, "living_street": 2.5, "service": 2.0, "pedestrian": 2.0,
    "default": 1.0,
}


def _lines_near(edges: gpd.GeoDataFrame, area: Any, margin: float) -> gpd.GeoDataFrame:
    zone = shapely.buffer(area, margin)
    shapely.prepare(zone)
    return edges[shapely.intersects(zone, edges.geometry.values)]


def street_blocks(edges: gpd.GeoDataFrame, area: Any, margin: float = 50.0) -> np.ndarray:
    """The faces the street lines enclose inside ``area`` (its boundary closes the outer blocks).

    Parameters
    ----------
    edges : GeoDataFrame
        Street centre lines (projected CRS).
    area : shapely geometry
        Study area in the same CRS.
    margin : float
        Streets this far beyond the area are used too (they close blocks on the boundary).

    Returns
    -------
    ndarray of Polygons, clipped to ``area``.
    """
    near = _lines_near(edges, area, margin)
    boundary = shapely.boundary(shapely.make_valid(area))
    noded = shapely.union_all(np.concatenate([near.geometry.values, [boundary]]))
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = shapely.intersection(faces, area)
    faces = shapely.get_parts(faces)
    return faces[shapely.get_type_id(faces) == 3]  # Polygon


def street_space(edges: gpd.GeoDataFrame, area: Any, half_width: dict | None = None, margin: float = 50.0) -> Any:
    """The street space: every street line buffered by half its class' width (one union per class)."""
    hw = {**DEFAULT_HALF_WIDTH_M, **(half_width or {})}
    near = _lines_near(edges, area, margin)
    cls = near["highway"].astype(str).to_numpy() if "highway" in near.columns else np.full(len(near), "default")
    width = np.array([float(hw.get(c, hw["default"])) for c in cls])
    lines = near.geometry.values
    parts = []
    for w in np.unique(width):
        if w <= 0:
            continue
        merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines[width == w])))
        parts.append(shapely.union_all(shapely.buffer(merged, w, quad_segs=2)))
    return shapely.union_all(parts) if parts else shapely.Polygon()


def infer_residential_blocks(
    edges: gpd.GeoDataFrame,
    area: Any,
    *,
    mapped: Any = None,
    exclude: list | None = None,
    half_width_m: dict | None = None,
    min_area_m2: float = 1000.0,
    min_width_m: float = 8.0,
) -> gpd.GeoDataFrame:
    """Candidate residential land: street blocks minus streets, other land and the mapped residential land.

    Parameters
    ----------
    edges : GeoDataFrame
        Street centre lines with a ``highway`` column (projected CRS, e.g. ``WalkNetwork.edges``).
    area : shapely geometry
        Study area (same CRS).
    mapped : shapely geometry, optional
        Residential land already mapped (the inferred land never overlaps it).
    exclude : list of GeoDataFrame or geometry arrays, optional
        Land that is not homes: other land uses, natural areas and water, parks, non-residential sites.
    half_width_m : dict, optional
        Half street width by highway class (overrides :data:`DEFAULT_HALF_WIDTH_M`).
    min_area_m2 : float
        Pieces smaller than this are dropped (traffic islands, corners, slivers).
    min_width_m : float
        Pieces narrower than this (an opening by half of it) are dropped: strips between parallel streets.

    Returns
    -------
    GeoDataFrame
        Polygons of inferred residential land with ``area_m2`` (same CRS as ``edges``).
    """
    crs = edges.crs
    area = shapely.make_valid(area)
    blocks = street_blocks(edges, area)
    land = shapely.union_all(blocks) if len(blocks) else shapely.Polygon()
    remove = [street_space(edges, area, half_width_m)]
    if mapped is not None and not shapely.is_empty(mapped):
        remove.append(mapped)
    for layer in exclude or []:
        geoms = layer.geometry.values if hasattr(layer, "geometry") else np.asarray(layer, dtype=object)
        if len(geoms):
            geoms = shapely.make_valid(geoms)
            polys = geoms[np.isin(shapely.get_type_id(geoms), [3, 6, 7])]
            if len(polys):
                remove.append(shapely.union_all(polys))
    gone = shapely.union_all(remove)
    left = shapely.difference(land, gone)
    if min_width_m > 0 and not left.is_empty:
        h = min_width_m / 2.0
        left = shapely.intersection(shapely.buffer(shapely.buffer(left, -h, quad_segs=2), h, quad_segs=2), left)
    parts = shapely.get_parts(left)
    parts = parts[np.isin(shapely.get_type_id(parts), [3, 6])]
    a = shapely.area(parts)
    keep = a >= min_area_m2
    return gpd.GeoDataFrame({"area_m2": a[keep]}, geometry=parts[keep], crs=crs)
