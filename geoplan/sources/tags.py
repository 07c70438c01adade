"""Which features of an extract count: tag filters and geometry types."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from .osm import tag_values

__all__ = ["match_tags", "polygons"]


def match_tags(gdf: gpd.GeoDataFrame, tags: dict) -> pd.Series:
    """Rows of ``gdf`` whose tags match a filter.

    Parameters
    ----------
    gdf : GeoDataFrame
        Features read from OpenStreetMap (tag columns or a ``tags`` column).
    tags : dict
        ``{key: [values]}`` (any of the values) or ``{key: True}`` (any value).

    Returns
    -------
    Series of bool
        True where any key of the filter matches.
    """
    hit = pd.Series(False, index=gdf.index)
    for key, values in (tags or {}).items():
        vals = tag_values(gdf, key)
        hit |= vals.notna() if values is True else vals.isin(list(values))
    return hit


def polygons(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The polygon and multipolygon rows of ``gdf``."""
    return gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
