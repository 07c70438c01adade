"""Reading user layers (GeoPackage, GeoJSON, Shapefile, CSV with coordinates).

Every layer comes back in EPSG:4326 with valid geometries, or a
:class:`~geoplan.errors.DataError` naming the file, the layer or field, and
what to do.  Geometries that are invalid (self-intersecting polygons ...) are
repaired with ``make_valid`` and reported with a warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import geopandas as gpd
import pandas as pd
import shapely

from ..errors import DataError, GeoplanWarning
from .datum import to_wgs84

__all__ = ["NAME_FIELDS", "NameField", "find_name_field", "read_layer", "read_points_csv", "repair_geometries"]

LON_NAMES = ("lon", "lng", "longitude", "x", "wgs_lng", "wgs_lon", "经度", "gcj_lng", "bd_lng")
LAT_NAMES = ("lat", "latitude", "y", "wgs_lat", "纬度", "gcj_lat", "bd_lat")


#: Field names that hold names in planners' layers (compared without case): OpenStreetMap, Esri, Chinese
#: administrative and AMap exports (名称 name, 街道名称 jiedao name, 绿道名称 greenway name, mc = 名称 in pinyin).
NAME_FIELDS = ("name", "名称", "名字", "name_zh", "name:zh", "name_cn", "name_chn", "街道名称", "街道", "街道名", "乡镇名称",
               "乡镇街道", "社区名称", "社区", "绿道名称", "绿道", "greenway", "greenway_name", "park_name", "公园名称",
               "jdmc", "xzqmc", "mc", "name_en", "name:en", "label", "title")


@dataclass(frozen=True)
class NameField:
    """Which field of a layer holds the feature names.

    Attributes
    ----------
    field : str or None
        The field; None when no field holds names.
    guessed : bool
        True when the configured field was missing and this one was recognised instead.
    note : str
        What was done, in a sentence for a warning (empty when the configured field was there).
    """

    field: str | None
    guessed: bool = False
    note: str = ""


def _holds_names(col: pd.Series, distinct: bool) -> bool:
    """Text values, not numbers or codes, mostly filled (and mostly distinct when ``distinct``)."""
    if not (pd.api.types.is_object_dtype(col) or pd.api.types.is_string_dtype(col)):
        return False
    v = col.dropna().astype(str).str.strip()
    v = v[v != ""]
    if len(v) == 0 or len(v) < 0.5 * len(col):
        return False
    if pd.to_numeric(v, errors="coerce").notna().mean() > 0.5:  # codes such as 110102 stored as text
        return False
    return not distinct or len(col) < 2 or v.nunique() >= 0.8 * len(v)


def find_name_field(gdf: pd.DataFrame, configured: str | None, *, what: str, distinct: bool = True) -> NameField:
    """The field of ``gdf`` holding the feature names: the configured one, else the one that holds names.

    When ``configured`` is missing, a field named like a name field
    (:data:`NAME_FIELDS`, or any field whose name contains ``name`` or 名称)
    that holds text is taken, in the order of :data:`NAME_FIELDS`; else the one
    text field of the layer that holds names (text, not codes, mostly filled
    and, with ``distinct``, mostly distinct).  Several such fields and none
    named like a name: no guess (the note lists them).

    Parameters
    ----------
    gdf : DataFrame
        The layer.
    configured : str or None
        The field configured (``name`` by default in most places).
    what : str
        The layer, for the note (``unit layer units.gpkg``).
    distinct : bool
        Names must be mostly distinct (units: yes; greenway segments repeat their greenway's name).

    Returns
    -------
    NameField
    """
    cols = [c for c in gdf.columns if c != getattr(gdf, "_geometry_column_name", "geometry") and c != "geometry"]
    if configured and configured in cols:
        return NameField(configured)
    lower = {str(c).lower(): c for c in cols}
    named = [lower[n] for n in NAME_FIELDS if n in lower]
    named += [c for c in cols if c not in named and ("name" in str(c).lower() or "名称" in str(c))]
    named = [c for c in named if _holds_names(gdf[c], distinct=False)]
    missing = f"{what} has no field {configured!r}" if configured else f"{what} names no name field"
    if named:
        return NameField(str(named[0]), True, f"{missing}: names taken from its field {named[0]!r}.")
    text = [c for c in cols if _holds_names(gdf[c], distinct)]
    if len(text) == 1:
        return NameField(str(text[0]), True, f"{missing}: names taken from its one text field {text[0]!r}.")
    fields = ", ".join(str(c) for c in cols) or "none"
    if text:
        return NameField(None, False, f"{missing} and {len(text)} text fields could hold names "
                                      f"({', '.join(map(str, text))}); its fields: {fields}.")
    return NameField(None, False, f"{missing} and no field of text holding names; its fields: {fields}.")


def repair_geometries(gdf: gpd.GeoDataFrame, source: str) -> gpd.GeoDataFrame:
    """Drop empty geometries and repair invalid ones, warning how many were touched."""
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].copy()
    bad = ~gdf.geometry.is_valid
    if bad.any():
        warnings.warn(
            f"{source}: repaired {int(bad.sum())} invalid geometries (e.g. self-intersecting polygons) "
            "with make_valid; check them in a GIS.",
            GeoplanWarning,
            stacklevel=3,
        )
        fixed = shapely.make_valid(gdf.geometry.values[bad.to_numpy()])
        gdf.loc[bad, gdf.geometry.name] = fixed
    return gdf


def read_layer(
    path: str | Path,
    *,
    layer: str | None = None,
    datum: str | None = None,
    what: str = "layer",
    geom_types: Iterable[str] | None = None,
    name: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a vector layer and return it in EPSG:4326.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile (or anything pyogrio reads), or a CSV
        with coordinate columns (see :func:`read_points_csv`).
    layer : str, optional
        Layer name inside a multi-layer file.
    datum : str, optional
        Declared datum (``wgs84``, ``gcj02``, ``bd09`` or an EPSG code).  Needed
        when the file has no CRS; wins over a geographic CRS label because
        GCJ-02 data is routinely labelled EPSG:4326.
    what : str
        What the layer is for ("parks", "units" ...), used in messages.
    geom_types : iterable of str, optional
        Accepted geometry families: "polygon", "line", "point".
    name : str, optional
        The input's name in the configuration (``parks``, ``units`` ...), used
        in hints such as ``--datum parks=gcj02``.

    Returns
    -------
    GeoDataFrame in EPSG:4326

    Raises
    ------
    DataError
        Missing or unreadable file, unknown layer, no geometry column, no
        features, no CRS and no declared datum, or only geometries of the wrong
        kind.  Every message names the file (and layer) and says what to do.
    """
    from .shared import file_key, shared

    # inside geoplan batch, the areas of one extract share each layer: read and checked once per process
    return shared("layer", (file_key(path), layer, datum, what, tuple(geom_types or ()), name),
                  lambda: _read_layer(path, layer=layer, datum=datum, what=what, geom_types=geom_types, name=name),
                  copy=lambda gdf: gdf.copy())


def _read_layer(path: str | Path, *, layer: str | None, datum: str | None, what: str,
                geom_types: Iterable[str] | None, name: str | None) -> gpd.GeoDataFrame:
    path = Path(path)
    src = f"{what} layer {path}" + (f" (layer {layer!r})" if layer else "")
    key = name or "LAYER"
    if not path.exists():
        raise DataError(f"file not found: {path}.", hint=f"Check the path given for the {what} layer.")
    if path.is_dir() and path.suffix.lower() not in (".gdb",):
        raise DataError(f"{src} is a folder, not a file.", hint="Give the path of a GeoPackage, GeoJSON, Shapefile or CSV.")
    if path.suffix.lower() in (".csv", ".txt"):
        gdf = read_points_csv(path, datum=datum, what=what)
    else:
        try:
            import pyogrio

            info_layers = [name for name, _ in pyogrio.list_layers(path)]
            if layer is not None and layer not in info_layers:
                raise DataError(f"{path} has no layer {layer!r}.", hint=f"Its layers are: {', '.join(info_layers)}.")
            gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
        except DataError:
            raise
        except Exception as exc:
            raise DataError(f"cannot read {src}: {exc}", hint="Is it a GeoPackage, GeoJSON or Shapefile?") from exc
        if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry is None or "geometry" not in gdf.columns:
            raise DataError(f"{src} has no geometry column.", hint="Export it with geometries, or give a CSV with lon/lat columns.")
    if len(gdf) == 0:
        raise DataError(f"{src} has no features.", hint="Check that the right file (and layer) was given.")
    if gdf.crs is None and datum is None:
        raise DataError(
            f"{src} has no coordinate reference system (e.g. a Shapefile without its .prj).",
            hint=f"Declare it with --datum {key}=wgs84 (or gcj02, bd09, EPSG:4547; in a config file "
            f"inputs: datums: {key}: wgs84) or save the file with a CRS.",
        )
    if datum is not None:

        gdf = to_wgs84(gdf, datum, source=src)
    elif not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    gdf = repair_geometries(gdf, src)
    if len(gdf) == 0:
        raise DataError(f"{src}: no feature has a geometry (all are empty or null).",
                        hint="Export the layer again with its geometries.")
    if geom_types:
        fam = {"polygon": ("Polygon", "MultiPolygon"), "line": ("LineString", "MultiLineString"), "point": ("Point", "MultiPoint")}
        ok_types = {t for g in geom_types for t in fam[g]}
        wrong = ~gdf.geom_type.isin(ok_types)
        if wrong.all():
            raise DataError(
                f"{src} holds {', '.join(sorted(set(gdf.geom_type)))} geometries; {what} must be {' or '.join(geom_types)}.",
                hint=f"Give a layer of {' or '.join(g + 's' for g in geom_types)} (check that the right file or layer was given).",
            )
        if wrong.any():
            warnings.warn(f"{src}: dropped {int(wrong.sum())} features that are not {' or '.join(geom_types)}.", GeoplanWarning, stacklevel=2)
            gdf = gdf[~wrong]
    return gdf.reset_index(drop=True)


def _read_csv_any_encoding(path: Path) -> pd.DataFrame:
    """A CSV in UTF-8 (with or without BOM) or GBK/GB18030, as Chinese web-map exports are."""
    import io

    if not path.exists():
        raise DataError(f"file not found: {path}.", hint="Check the path of the CSV file.")
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
        except UnicodeDecodeError:
            continue
        try:
            return pd.read_csv(io.StringIO(text))
        except pd.errors.EmptyDataError:
            raise DataError(f"CSV {path} is empty.", hint="Give a CSV with a header row and one row per point.") from None
        except pd.errors.ParserError as exc:
            msg = " ".join(str(exc).split())
            raise DataError(f"cannot parse CSV {path}: {msg}",
                            hint="Check the delimiter (a comma) and quoting of that line.") from None
    raise DataError(f"{path}: cannot decode the CSV as UTF-8 or GBK/GB18030.", hint="Save it as UTF-8.")


def read_points_csv(
    path: str | Path,
    *,
    lon: str | None = None,
    lat: str | None = None,
    datum: str | None = None,
    what: str = "points",
) -> gpd.GeoDataFrame:
    """Read a CSV of points (UTF-8 or GBK, as exported from Chinese web maps).

    Parameters
    ----------
    path : str or Path
    lon, lat : str, optional
        Coordinate columns; found by common names (lon/lng/longitude/x/经度 ...) when omitted.
    datum : str, optional
        Declared datum of the coordinates (default wgs84).
    what : str
        What the points are for, used in messages.

    Returns
    -------
    GeoDataFrame in EPSG:4326
        Rows without valid coordinates and exact duplicate rows (the same
        values in every column, as double exports produce) are dropped with a
        :class:`~geoplan.errors.GeoplanWarning`.
    """
    path = Path(path)
    df = _read_csv_any_encoding(path)
    cols = {c.lower().strip(): c for c in df.columns}
    lon = lon or next((cols[c] for c in LON_NAMES if c in cols), None)
    lat = lat or next((cols[c] for c in LAT_NAMES if c in cols), None)
    if lon is None or lat is None:
        raise DataError(
            f"{what} CSV {path} has no coordinate columns (found: {', '.join(map(str, df.columns))}).",
            hint="Name them lon and lat (or lng/longitude, lat/latitude).",
        )
    xy = df[[lon, lat]].apply(pd.to_numeric, errors="coerce")
    bad = xy.isna().any(axis=1) | ~xy[lon].between(-180, 180) | ~xy[lat].between(-90, 90)
    if bad.all():
        raise DataError(f"{what} CSV {path}: no row has valid coordinates in {lon!r}/{lat!r}.")
    if bad.any():
        warnings.warn(f"{what} CSV {path}: dropped {int(bad.sum())} rows without valid coordinates.", GeoplanWarning, stacklevel=2)
    df, xy = df[~bad], xy[~bad]
    dup = df.duplicated(keep="first")
    if dup.any():
        warnings.warn(
            f"{what} CSV {path}: dropped {int(dup.sum())} duplicate rows (identical in every column, "
            f"first at line {int(df.index[dup.to_numpy()][0]) + 2}); remove them from the file to silence this.",
            GeoplanWarning, stacklevel=2,
        )
        df, xy = df[~dup], xy[~dup]
    gdf = gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(xy[lon], xy[lat]), crs=None)
    if datum is None:
        gdf = gdf.set_crs("EPSG:4326")
    return gdf
