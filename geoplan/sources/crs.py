"""Coordinate reference systems: the projected CRS to work in, and layers brought into it."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from pyproj import CRS

from ..config import check_crs

__all__ = ["choose_crs", "to_crs"]


def choose_crs(geom_wgs84: Any, override: str | None = None) -> CRS:
    """The projected metric CRS to work in.

    Parameters
    ----------
    geom_wgs84 : shapely geometry in EPSG:4326
    override : str, optional
        Any CRS pyproj understands (e.g. ``"EPSG:4547"``, CGCS2000 3-degree
        Gauss-Kruger CM 114E, for Beijing); must be projected in metres.

    Returns
    -------
    pyproj.CRS
        ``override`` or the UTM zone of the area's centre.
    """
    if override:
        return check_crs(override)
    return gpd.GeoSeries([geom_wgs84], crs="EPSG:4326").estimate_utm_crs()


def to_crs(gdf: gpd.GeoDataFrame, crs: CRS) -> gpd.GeoDataFrame:
    """``gdf`` in ``crs`` (a layer without a CRS is taken as EPSG:4326; an empty one keeps only a geometry column)."""
    if len(gdf) == 0:
        return gpd.GeoDataFrame({"geometry": gpd.GeoSeries([], crs=crs)}, crs=crs)
    if gdf.crs is None:
        gdf = gdf.set_crs("EPSG:4326")
    return gdf.to_crs(crs)
