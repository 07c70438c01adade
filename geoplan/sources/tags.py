"""Which features of an extract count: tag filters and geometry types."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import pandas as pd

__all__ = ["match_tags", "parse_tags", "polygons", "tag_table", "tag_values"]


def tag_values(gdf: pd.DataFrame, key: str) -> pd.Series:
    """Values of an OSM tag, from its own column or from pyrosm's ``tags`` JSON column.

    Parameters
    ----------
    gdf : DataFrame
        A table read by pyrosm.
    key : str
        Tag key such as ``"access"`` or ``"building:levels"``.

    Returns
    -------
    Series of str or None, aligned with ``gdf``.
    """
    return tag_table(gdf, [key])[key]


def tag_table(gdf: pd.DataFrame, keys: Iterable[str]) -> dict[str, pd.Series]:
    """Values of several OSM tags at once: own columns first, then pyrosm's ``tags`` JSON (parsed once).

    Parameters
    ----------
    gdf : DataFrame
        A table read by pyrosm.
    keys : iterable of str
        Tag keys.

    Returns
    -------
    dict
        Key -> Series of str or None aligned with ``gdf`` (what :func:`tag_values` gives for the key).
    """
    parsed = None
    out = {}
    for k in keys:
        col = gdf[k].astype(object).where(gdf[k].notna(), None) if k in gdf.columns else \
            pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
        missing = col.isna().to_numpy()
        if "tags" in gdf.columns and missing.any():
            if parsed is None:
                parsed = gdf["tags"].map(parse_tags)
            col = col.copy()
            col[missing] = [d.get(k) for d in parsed[missing]]
        out[k] = col
    return out


def parse_tags(t: Any) -> dict:
    """Pyrosm's ``tags`` value (a JSON text or a dict) as a dict; ``{}`` when missing or not an object."""
    if isinstance(t, dict):
        return t
    if isinstance(t, str) and t:
        try:
            v = json.loads(t)
        except ValueError:
            return {}
        return v if isinstance(v, dict) else {}
    return {}


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
