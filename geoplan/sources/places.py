"""The area to fetch data for: a bounding box, a boundary file, or a place name.

Every function returns a :class:`Place`: polygons in EPSG:4326 with a
``name`` field (usable as ``--area`` or ``--units`` of an audit) and where
they came from.  A place name is looked up first in the boundary file given
with it, then in the polygon layers bundled in the repository's ``data/``
folder, and only then geocoded with Nominatim through OSMnx (whose cache
makes a second run offline).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import geopandas as gpd
import pandas as pd
import shapely

from ..errors import DataError, UsageError
from .layers import read_layer
from .overpass import network_reason

__all__ = ["Place", "place_from_bbox", "place_from_file", "place_from_name", "bundled_layers", "parse_bbox"]

#: Fields searched for a place name, in this order.
NAME_FIELDS = ("name", "name:zh", "name_zh", "NAME", "Name", "name:en", "name_en", "名称", "district", "DISTRICT",
               "jiedao", "county", "city")
#: Suffixes a name may omit: "西城" finds "西城区", "新街口" finds "新街口街道".
NAME_SUFFIXES = ("街道办事处", "街道", "地区", "区", "县", "市", "镇", "乡", " district", " subdistrict", " county")


@dataclass
class Place:
    """An area to fetch.

    Attributes
    ----------
    gdf : GeoDataFrame
        Its polygons in EPSG:4326, with a ``name`` field.
    kind : str
        ``"bbox"``, ``"boundary"`` or ``"place"``.
    query : str
        What was asked (the box, the file and selection, the name).
    source : str
        Where the outline comes from (file, Nominatim, the box itself).
    name : str
        A short name for titles and folder names.
    """

    gdf: gpd.GeoDataFrame
    kind: str
    query: str
    source: str
    name: str

    @property
    def geometry(self):  # noqa: ANN201 - shapely geometry
        """The union of the polygons."""
        return shapely.union_all(self.gdf.geometry.values)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(west, south, east, north)`` of the polygons."""
        return tuple(float(v) for v in self.gdf.total_bounds)  # type: ignore[return-value]

    def area_km2(self) -> float:
        """Area in square kilometres (in the local UTM zone)."""
        crs = self.gdf.estimate_utm_crs()
        return float(self.gdf.to_crs(crs).geometry.union_all().area / 1e6)


def parse_bbox(text: str | Sequence[float]) -> tuple[float, float, float, float]:
    """``"west,south,east,north"`` (degrees) as four floats, checked.

    Raises
    ------
    UsageError
        Not four numbers, out of range, or west >= east / south >= north
        (with a hint when latitude and longitude look swapped).
    """
    if isinstance(text, str):
        parts = [p for p in text.replace(" ", ",").split(",") if p]
    else:
        parts = list(text)
    try:
        w, s, e, n = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise UsageError(f"--bbox {text!r}: expected four numbers west,south,east,north in degrees "
                         "(e.g. 116.35,39.92,116.37,39.95).") from None
    if not all(math.isfinite(v) for v in (w, s, e, n)):
        raise UsageError(f"--bbox {text!r}: every value must be a finite number.")
    if abs(s) > 90 or abs(n) > 90 or abs(w) > 180 or abs(e) > 180:
        swapped = abs(w) <= 90 and abs(e) <= 90
        raise UsageError(f"--bbox {text!r}: longitude must be within ±180 and latitude within ±90.",
                         hint="The order is west,south,east,north (longitude first)." if swapped else None)
    if w >= e or s >= n:
        raise UsageError(f"--bbox {text!r}: west must be less than east and south less than north.",
                         hint="The order is west,south,east,north (longitude first).")
    return (w, s, e, n)


def place_from_bbox(text: str | Sequence[float]) -> Place:
    """A rectangle given as ``west,south,east,north``."""
    w, s, e, n = parse_bbox(text)
    label = f"{w:g},{s:g},{e:g},{n:g}"
    gdf = gpd.GeoDataFrame({"name": [f"bbox {label}"]}, geometry=[shapely.box(w, s, e, n)], crs="EPSG:4326")
    return Place(gdf, "bbox", label, "the box given with --bbox", f"bbox {label}")


def _strip_suffix(text: str) -> str:
    for suf in NAME_SUFFIXES:
        if text.endswith(suf) and len(text) > len(suf):
            return text[: -len(suf)]
    return text


def _match(values: pd.Series, name: str) -> pd.Series:
    """Features whose value is ``name`` (case-insensitive), else equal once an admin suffix is dropped."""
    v = values.fillna("").astype(str).str.strip().str.casefold()  # a layer's unnamed features have no name
    key = name.strip().casefold()
    exact = v == key
    if exact.any():
        return exact
    return v.map(_strip_suffix) == _strip_suffix(key)


def select_by_name(gdf: gpd.GeoDataFrame, names: Sequence[str], *, field: str | None = None,
                   source: str = "layer") -> gpd.GeoDataFrame | None:
    """The features whose name field equals one of ``names`` (``None`` if some name matches nothing).

    Each name is looked up in ``field`` if given, else in the first of
    :data:`NAME_FIELDS` where it occurs; a name may omit an administrative
    suffix (街道, 区 ...).
    """
    fields = [field] if field else [f for f in NAME_FIELDS if f in gdf.columns]
    if field and field not in gdf.columns:
        raise UsageError(f"{source}: no field {field!r}.", hint=f"Its fields: {', '.join(map(str, gdf.columns[:20]))}.")
    keep = pd.Series(False, index=gdf.index)
    for nm in names:
        hit = None
        for f in fields:
            m = _match(gdf[f], nm)
            if m.any():
                hit = m
                break
        if hit is None:
            return None
        keep |= hit
    return gdf[keep]


def _with_name(gdf: gpd.GeoDataFrame, fallback: str) -> gpd.GeoDataFrame:
    gdf = gdf.copy()
    if "name" not in gdf.columns:
        src = next((f for f in NAME_FIELDS if f in gdf.columns), None)
        gdf.insert(0, "name", gdf[src].astype(str) if src else
                   [fallback if len(gdf) == 1 else f"{fallback} {i + 1}" for i in range(len(gdf))])
    gdf["name"] = gdf["name"].where(gdf["name"].notna(), fallback).astype(str)
    return gdf.reset_index(drop=True)


def place_from_file(path: str | os.PathLike, *, select: Sequence[str] = (), name_field: str | None = None,
                    datum: str | None = None, layer: str | None = None) -> Place:
    """Polygons from a boundary layer, optionally only the features named in ``select``.

    Parameters
    ----------
    path : str or Path
        GeoPackage, GeoJSON, Shapefile ...
    select : sequence of str
        Names of the features to keep (all when empty).
    name_field : str, optional
        Field holding the names (default: the first of :data:`NAME_FIELDS`).
    datum : str, optional
        The layer's datum when it is not WGS 84 (``gcj02`` for AMap outlines).
    layer : str, optional
        Layer inside a multi-layer file.
    """
    gdf = read_layer(path, layer=layer, datum=datum, what="boundary", geom_types=("polygon",), name="boundary")
    gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if gdf.empty:
        raise DataError(f"boundary {path}: no polygon.", hint="Give a polygon layer (district or jiedao outlines).")
    base = Path(path).name.split(".")[0]
    query = str(path)
    if select:
        picked = select_by_name(gdf, select, field=name_field, source=f"boundary {path}")
        if picked is None or picked.empty:
            fields = [name_field] if name_field else [f for f in NAME_FIELDS if f in gdf.columns]
            sample = ", ".join(sorted({str(v) for f in fields for v in gdf[f].dropna().unique()})[:15])
            raise UsageError(f"boundary {path}: no feature named {', '.join(select)}"
                             f"{' in ' + '/'.join(fields) if fields else ' (the layer has no name field)'}.",
                             hint=f"Names in the layer: {sample}." if sample else "Give --name-field.")
        gdf = picked
        query = f"{path} [{', '.join(select)}]"
        base = select[0] if len(select) == 1 else base
    gdf = _with_name(gdf, base)
    if name_field and name_field != "name" and name_field in gdf.columns:
        gdf["name"] = gdf[name_field].astype(str)
    return Place(gdf, "boundary", query, str(path), base)


def bundled_layers() -> list[Path]:
    """Polygon layers bundled in the repository's ``data/`` folder (empty when it is absent)."""
    root = Path(__file__).resolve().parents[2] / "data"
    if not root.is_dir():
        return []
    out = []
    for p in sorted(root.rglob("*")):
        if p.suffix.lower() in (".geojson", ".gpkg", ".shp") and p.is_file():
            out.append(p)
    return out


def _from_known(name: str, layers: Sequence[Path]) -> Place | None:
    import pyogrio

    for path in layers:
        try:
            info = pyogrio.read_info(path)
        except Exception:  # noqa: BLE001 - an unreadable bundled file is not this lookup's business
            continue
        if "polygon" not in str(info.get("geometry_type", "")).lower():
            continue
        fields = [f for f in NAME_FIELDS if f in list(info.get("fields", []))]
        if not fields:
            continue
        gdf = gpd.read_file(path)
        picked = select_by_name(gdf, [name])
        if picked is not None and not picked.empty:
            p = place_from_file(path, select=[name])
            p.kind, p.query = "place", name
            p.source = f"{path} (known offline)"
            return p
    return None


def place_from_name(name: str, *, boundary: str | os.PathLike | None = None, name_field: str | None = None,
                    layers: Sequence[Path] | None = None) -> Place:
    """A named place: from ``boundary`` or the bundled layers if they know it, else Nominatim (cached).

    Parameters
    ----------
    name : str
        e.g. ``"西城区"``, ``"新街口街道"``, ``"Xicheng District, Beijing"``.
    boundary : path, optional
        A boundary layer to look the name up in (no request is made).
    name_field : str, optional
        Its name field.
    layers : sequence of Path, optional
        Layers known offline (default :func:`bundled_layers`).

    Raises
    ------
    UsageError
        The name is not in ``boundary``, or Nominatim knows no area of that name.
    DataError
        Nominatim cannot be reached and the name is not in its cache.
    """
    if not name or not name.strip():
        raise UsageError("--place: give a place name, e.g. --place 西城区.")
    if boundary is not None:
        p = place_from_file(boundary, select=[name], name_field=name_field)
        p.kind, p.query = "place", name
        return p
    known = _from_known(name, bundled_layers() if layers is None else layers)
    if known is not None:
        return known
    return _geocode(name)


def _geocode(name: str) -> Place:
    import osmnx as ox
    import requests
    from osmnx._errors import InsufficientResponseError, ResponseStatusCodeError


    st = ox.settings
    try:
        gdf = ox.geocode_to_gdf(name)
    except InsufficientResponseError:
        raise UsageError(f"--place {name!r}: Nominatim found no place of that name.",
                         hint="Check the spelling, add the city (e.g. '西城区, 北京市'), or give the outline with "
                         "--boundary FILE or a --bbox.") from None
    except TypeError:
        raise UsageError(f"--place {name!r}: Nominatim knows this name only as a point or line, not as an area.",
                         hint="Give the outline with --boundary FILE or a --bbox.") from None
    except ResponseStatusCodeError as exc:
        raise DataError(f"--place {name!r}: the Nominatim server {st.nominatim_url} answered with an error "
                        f"({' '.join(str(exc).split())[:200]}).",
                        hint="Try again later, or give the outline with --boundary FILE or a --bbox.") from None
    except requests.exceptions.RequestException as exc:
        raise DataError(f"--place {name!r}: cannot reach the Nominatim server {st.nominatim_url} ({network_reason(exc)}), "
                        f"and this name is not in the cache ({st.cache_folder}).",
                        hint="Without internet, give the outline with --boundary FILE (and --place to pick a "
                        "feature by name) or a --bbox.") from None
    gdf = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
    if gdf.empty:  # pragma: no cover - osmnx raises TypeError first
        raise UsageError(f"--place {name!r}: Nominatim returned no area.", hint="Give --boundary FILE or --bbox.")
    keep = [c for c in ("name", "display_name", "osm_type", "osm_id", "class", "type", "addresstype") if c in gdf]
    gdf = gdf[keep + ["geometry"]].copy()
    if "name" not in gdf or not str(gdf["name"].iloc[0] or "").strip():
        gdf["name"] = name
    return Place(_with_name(gdf, name), "place", name, f"Nominatim ({st.nominatim_url})", name)
