"""Coordinate datums used by Chinese web maps: WGS 84, GCJ-02 and BD-09.

OpenStreetMap, GPS receivers and official surveys (CGCS2000, which agrees
with WGS 84 to within a metre or so) place a point where it really is.
Chinese web maps do not:

* **GCJ-02** ("Mars coordinates"), used by AMap/Gaode, Tencent, DataV,
  ECharts and most Chinese GIS exports, adds a non-linear, position-dependent
  offset of a few hundred metres to WGS 84 (in Xicheng about 500 m east and
  140-220 m north).
* **BD-09**, used by Baidu, applies a second offset on top of GCJ-02.

Such layers are very often labelled ``EPSG:4326`` although they are not WGS 84,
and a 500 m error silently ruins a 500 m service-radius analysis.  This module

* converts coordinates between the three datums (vectorised numpy),
* converts whole GeoDataFrames to true WGS 84 (:func:`to_wgs84`), and
* detects layers that look shifted against an OpenStreetMap reference layer
  (:func:`check_datum_shift`, :func:`warn_if_shifted`).

The formulas are the published ones: the GCJ-02 offset is a pair of
polynomial-plus-sine series in (lon - 105, lat - 35) scaled on the Krasovsky
1940 ellipsoid, applied only inside a bounding box around China; BD-09 perturbs
GCJ-02 in polar form (radius + 2e-5 sin(lat * 3000 pi / 180), angle +
3e-6 cos(lon * 3000 pi / 180)) and then adds (0.0065, 0.006) degrees.  Neither
has a closed-form inverse, so the inverses here are computed by fixed-point
iteration to better than 1e-9 degrees (about 0.1 mm) instead of the common
one-step approximation, which can be several metres off.
"""

from __future__ import annotations

import functools

import warnings
from dataclasses import dataclass
from typing import Any, Callable, Union

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike

from geoplan.errors import DataError, GeoplanWarning, UsageError

__all__ = [
    "ACCEPTED_DATUMS",
    "DatumCheck",
    "bd09_to_gcj02",
    "bd09_to_wgs84",
    "check_datum_shift",
    "DatumReference",
    "prepare_reference",
    "gcj02_to_bd09",
    "gcj02_to_wgs84",
    "normalize_datum",
    "out_of_china",
    "to_wgs84",
    "warn_if_shifted",
    "wgs84_to_bd09",
    "wgs84_to_gcj02",
]

DatumLike = Union[str, int, pyproj.CRS, None]

# --- constants of the published formulas -----------------------------------
_KRASOVSKY_A = 6378245.0  # semi-major axis of the Krasovsky 1940 ellipsoid (m)
_KRASOVSKY_EE = 0.00669342162296594323  # its first eccentricity squared
_BD_X_PI = np.pi * 3000.0 / 180.0
_BD_DLON = 0.0065
_BD_DLAT = 0.006

# The bounding box inside which GCJ-02 differs from WGS 84 (the usual test).
_CHINA_LON_MIN, _CHINA_LON_MAX = 72.004, 137.8347
_CHINA_LAT_MIN, _CHINA_LAT_MAX = 0.8293, 55.8271

_INVERSE_TOL_DEG = 1e-9
_INVERSE_MAX_ITER = 30

ACCEPTED_DATUMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09", "cgcs2000")
"""Datum names :func:`normalize_datum` accepts (besides any pyproj CRS)."""

_DATUM_ALIASES: dict[str, str] = {
    "wgs84": "wgs84",
    "gcj02": "gcj02",
    "bd09": "bd09",
    "bd09ll": "bd09",
    "cgcs2000": "cgcs2000",
}

_ACCEPTED_TEXT = (
    "Accepted datums: wgs84, gcj02 (also gcj-02; AMap/Gaode/Tencent), "
    "bd09 (also bd-09; Baidu), cgcs2000 (Tianditu, official surveys), "
    "or a CRS that pyproj understands such as EPSG:4547."
)


# --- point conversions -------------------------------------------------------
def _as_float_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    lon_a, lat_a = np.broadcast_arrays(
        np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    )
    return lon_a.copy(), lat_a.copy()


def _out(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # numpy reduces 0-d results to scalars: always hand back arrays
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> np.ndarray:
    """Tell which points lie outside the box where GCJ-02 differs from WGS 84.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (broadcast against each other).

    Returns
    -------
    numpy.ndarray of bool
        True where the point is outside the usual China bounding box
        (72.004-137.8347 E, 0.8293-55.8271 N); there GCJ-02 equals WGS 84.
        NaN coordinates count as outside.
    """
    lon_a, lat_a = _as_float_arrays(lon, lat)
    inside = (
        (lon_a >= _CHINA_LON_MIN)
        & (lon_a <= _CHINA_LON_MAX)
        & (lat_a >= _CHINA_LAT_MIN)
        & (lat_a <= _CHINA_LAT_MAX)
    )
    return np.asarray(~inside)


def _gcj02_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 minus WGS 84, in degrees, at WGS 84 positions (0 outside China)."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * 2.0 / 3.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    dlat = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x
        + common
        + (20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x
        + common
        + (20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * 2.0 / 3.0
    )
    # The series are in metres on the Krasovsky ellipsoid: scale to degrees
    # with the meridian and parallel radii of curvature at the latitude.
    rad_lat = np.radians(lat)
    magic = 1.0 - _KRASOVSKY_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    meridian_radius = _KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) / (magic * sqrt_magic)
    parallel_radius = _KRASOVSKY_A / sqrt_magic * np.cos(rad_lat)
    dlat = np.degrees(dlat / meridian_radius)
    dlon = np.degrees(dlon / parallel_radius)
    outside = out_of_china(lon, lat)
    dlat = np.where(outside, 0.0, dlat)
    dlon = np.where(outside, 0.0, dlon)
    return dlon, dlat


def _invert(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    target_lon: np.ndarray,
    target_lat: np.ndarray,
    start_lon: np.ndarray,
    start_lat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(p) == target`` by fixed-point iteration from ``start``.

    ``forward`` is the identity plus a small, slowly varying offset, so
    ``p <- p - (forward(p) - target)`` contracts fast (factor ~1e-2 or less).
    """
    lon = np.array(start_lon, dtype=np.float64)  # copies
    lat = np.array(start_lat, dtype=np.float64)
    for _ in range(_INVERSE_MAX_ITER):
        f_lon, f_lat = forward(lon, lat)
        err_lon = f_lon - target_lon
        err_lat = f_lat - target_lat
        lon -= err_lon
        lat -= err_lat
        if lon.size == 0:
            break
        with np.errstate(invalid="ignore"):
            worst = np.fmax(np.abs(err_lon), np.abs(err_lat))
        if not np.any(worst > _INVERSE_TOL_DEG):  # NaN compares False
            break
    return lon, lat


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS 84 longitudes/latitudes to GCJ-02 (AMap/Gaode/Tencent).

    Parameters
    ----------
    lon, lat : array_like
        WGS 84 coordinates in degrees; scalars or arrays that broadcast.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in GCJ-02, float64, of the broadcast shape.  Points
        outside China (see :func:`out_of_china`) are returned unchanged.
    """
    lon_a, lat_a = _as_float_arrays(lon, lat)
    dlon, dlat = _gcj02_offset(lon_a, lat_a)
    return _out(lon_a + dlon, lat_a + dlat)


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 longitudes/latitudes to WGS 84 (exact inverse).

    The inverse is found by fixed-point iteration on :func:`wgs84_to_gcj02`
    until the forward transform of the result matches the input to better
    than 1e-9 degrees, so ``wgs84_to_gcj02(*gcj02_to_wgs84(x, y)) == (x, y)``
    to about 0.1 mm (the one-step approximation is off by up to a few metres).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 coordinates in degrees; scalars or arrays that broadcast.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in WGS 84, float64, of the broadcast shape.  Outside
        China the coordinates are returned unchanged.
    """
    g_lon, g_lat = _as_float_arrays(lon, lat)
    dlon, dlat = _gcj02_offset(g_lon, g_lat)
    return _out(*_invert(wgs84_to_gcj02, g_lon, g_lat, g_lon - dlon, g_lat - dlat))


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert GCJ-02 longitudes/latitudes to BD-09 (Baidu).

    Parameters
    ----------
    lon, lat : array_like
        GCJ-02 coordinates in degrees; scalars or arrays that broadcast.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in BD-09, float64, of the broadcast shape.  As in
        Baidu's own formula the offset is applied everywhere, not only in China.
    """
    x, y = _as_float_arrays(lon, lat)
    radius = np.hypot(x, y) + 2e-5 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 3e-6 * np.cos(x * _BD_X_PI)
    return _out(radius * np.cos(theta) + _BD_DLON, radius * np.sin(theta) + _BD_DLAT)


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 (Baidu) longitudes/latitudes to GCJ-02 (exact inverse).

    Starts from Baidu's published closed-form approximation and refines it by
    fixed-point iteration on :func:`gcj02_to_bd09` to better than 1e-9 degrees.

    Parameters
    ----------
    lon, lat : array_like
        BD-09 coordinates in degrees; scalars or arrays that broadcast.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in GCJ-02, float64, of the broadcast shape.
    """
    b_lon, b_lat = _as_float_arrays(lon, lat)
    x = b_lon - _BD_DLON
    y = b_lat - _BD_DLAT
    radius = np.hypot(x, y) - 2e-5 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) - 3e-6 * np.cos(x * _BD_X_PI)
    start_lon, start_lat = radius * np.cos(theta), radius * np.sin(theta)
    return _out(*_invert(gcj02_to_bd09, b_lon, b_lat, start_lon, start_lat))


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert WGS 84 longitudes/latitudes to BD-09 (via GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        WGS 84 coordinates in degrees; scalars or arrays that broadcast.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in BD-09, float64, of the broadcast shape.
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Convert BD-09 (Baidu) longitudes/latitudes to WGS 84 (via GCJ-02).

    Parameters
    ----------
    lon, lat : array_like
        BD-09 coordinates in degrees; scalars or arrays that broadcast.

    Returns
    -------
    tuple of numpy.ndarray
        ``(lon, lat)`` in WGS 84, float64, of the broadcast shape; both steps
        are exact inverses (see :func:`bd09_to_gcj02`, :func:`gcj02_to_wgs84`).
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


# --- GeoDataFrames -----------------------------------------------------------
def normalize_datum(datum: DatumLike) -> str | pyproj.CRS | None:
    """Parse a datum declaration from the command line or a configuration.

    Parameters
    ----------
    datum : str, int, pyproj.CRS or None
        ``"wgs84"``, ``"gcj02"``, ``"bd09"`` or ``"cgcs2000"`` (case-insensitive;
        ``-``, ``_`` and spaces are ignored, so ``"GCJ-02"`` and ``"BD-09"``
        work), an EPSG code, or any CRS that pyproj understands
        (``"EPSG:4547"``).

    Returns
    -------
    str, pyproj.CRS or None
        One of :data:`ACCEPTED_DATUMS`, a :class:`pyproj.CRS`, or None when
        ``datum`` is None or blank (nothing declared).

    Raises
    ------
    geoplan.errors.UsageError
        If the value is neither a known datum name nor a valid CRS; the
        message lists the accepted values.
    """
    if datum is None:
        return None
    if isinstance(datum, pyproj.CRS):
        return datum
    if isinstance(datum, str):
        text = datum.strip()
        if not text:
            return None
        key = text.lower().replace("-", "").replace("_", "").replace(" ", "")
        if key in _DATUM_ALIASES:
            return _DATUM_ALIASES[key]
    elif isinstance(datum, (int, np.integer)) and not isinstance(datum, bool):
        datum = int(datum)
    else:
        raise UsageError(f"unknown datum {datum!r}.", hint=_ACCEPTED_TEXT)
    try:
        return pyproj.CRS.from_user_input(datum)
    except pyproj.exceptions.CRSError:
        raise UsageError(f"unknown datum {datum!r}.", hint=_ACCEPTED_TEXT) from None


def _shift_vertices(
    geometries: np.ndarray,
    func: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    def _transform(coords: np.ndarray) -> np.ndarray:
        out = coords.copy()
        out[:, 0], out[:, 1] = func(coords[:, 0], coords[:, 1])
        return out

    # include_z=True keeps 3D geometries 3D and 2D ones 2D; z is untouched.
    return shapely.transform(geometries, _transform, include_z=True)


def to_wgs84(
    gdf: gpd.GeoDataFrame,
    datum: DatumLike = None,
    *,
    source: str | None = None,
) -> gpd.GeoDataFrame:
    """Return a copy of a layer in true WGS 84 (EPSG:4326).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The layer.  Its CRS, if any, tells how to read the coordinates unless
        ``datum`` says otherwise.
    datum : str, int, pyproj.CRS or None
        What the coordinates really are (see :func:`normalize_datum`):

        * ``"gcj02"`` / ``"bd09"``: every vertex of every geometry is
          converted with :func:`gcj02_to_wgs84` / :func:`bd09_to_wgs84`.
        * ``"wgs84"`` / ``"cgcs2000"``: no shift (CGCS2000 agrees with
          WGS 84 to within about a metre).
        * a CRS (``"EPSG:4547"``, ``4547``): the coordinates are in that CRS,
          whatever the file says; they are reprojected to EPSG:4326.
        * None: trust the layer's own CRS.

        For a datum name, a geographic CRS on the layer is overridden (data
        labelled EPSG:4326 is often really GCJ-02); a projected CRS on the layer
        is first unprojected to longitude/latitude and the datum is then applied.
    source : str, optional
        Name of the file or layer, used in error messages.

    Returns
    -------
    geopandas.GeoDataFrame
        A new GeoDataFrame in EPSG:4326 with the same rows and attributes.

    Raises
    ------
    geoplan.errors.UsageError
        If ``datum`` is not recognised.
    geoplan.errors.DataError
        If the layer has no CRS and no datum was declared.
    """
    declared = normalize_datum(datum)
    name = source or "layer"
    if declared is None:
        if gdf.crs is None:
            raise DataError(
                "the layer has no coordinate reference system and no datum was declared.",
                source=name,
                hint=(
                    "Declare what its coordinates are, e.g. --datum wgs84 / datum: gcj02 "
                    "(AMap/Gaode/Tencent) / bd09 (Baidu) / EPSG:4547."
                ),
            )
        return gdf.to_crs(epsg=4326)
    if isinstance(declared, pyproj.CRS):
        return gdf.set_crs(declared, allow_override=True).to_crs(epsg=4326)

    if gdf.crs is not None and not gdf.crs.is_geographic:
        out = gdf.to_crs(epsg=4326)  # unproject, then apply the declared datum
    else:
        out = gdf.set_crs(epsg=4326, allow_override=True)  # a copy
    if declared in ("gcj02", "bd09"):
        func = gcj02_to_wgs84 if declared == "gcj02" else bd09_to_wgs84
        geom_name = out.geometry.name
        shifted = _shift_vertices(np.asarray(out.geometry.values), func)
        out[geom_name] = gpd.GeoSeries(shifted, index=out.index, crs="EPSG:4326")
    return out


# --- detection ---------------------------------------------------------------
@dataclass(frozen=True)
class DatumCheck:
    """Outcome of :func:`check_datum_shift`.

    Attributes
    ----------
    n_vertices : int
        Number of layer vertices compared (inside the reference's extent,
        after sampling).
    median_distance_m : float
        Median distance in metres from those vertices, read as declared, to
        the nearest reference geometry (NaN when nothing could be compared).
    median_distance_if_gcj02_m : float
        The same after converting the vertices as if they were GCJ-02.
    median_distance_if_bd09_m : float
        The same after converting the vertices as if they were BD-09.
    suspected : str or None
        ``"gcj02"`` or ``"bd09"`` when that reading fits the reference
        markedly better than the declared one; None otherwise.
    message : str
        A sentence for the planner, saying what to do when ``suspected``.
    source : str or None
        The layer name given to :func:`check_datum_shift`.
    """

    n_vertices: int
    median_distance_m: float
    median_distance_if_gcj02_m: float
    median_distance_if_bd09_m: float
    suspected: str | None
    message: str
    source: str | None = None


_DATUM_LABELS = {
    "gcj02": "GCJ-02 (AMap/Gaode/Tencent)",
    "bd09": "BD-09 (Baidu)",
}


@functools.lru_cache(maxsize=64)
def _utm_crs(bounds: tuple[float, float, float, float]) -> pyproj.CRS:
    """The UTM zone geopandas estimates for geometries with these bounds (EPSG:4326), looked up once.

    ``estimate_utm_crs`` queries the PROJ database (tenths of a second); every user
    layer of an audit is checked against the same reference, so the zone is reused.
    """
    return gpd.GeoSeries([shapely.box(*bounds)], crs="EPSG:4326").estimate_utm_crs()


@dataclass(frozen=True)
class DatumReference:
    """A WGS 84-true reference layer made ready for :func:`check_datum_shift` (see :func:`prepare_reference`).

    An audit checks every user layer against the same street network: preparing it once
    (projected to UTM, its hull and search tree) gives each check the same figures.
    """

    to_metric: Any
    hull: Any
    tree: Any


def prepare_reference(reference: gpd.GeoDataFrame) -> DatumReference:
    """The reference of :func:`check_datum_shift` projected to its UTM zone, with its convex hull and search tree.

    Raises
    ------
    geoplan.errors.DataError
        If ``reference`` has no CRS.
    """
    if reference.crs is None:
        raise DataError("the layer has no coordinate reference system; cannot check its datum.",
                        source="reference layer", hint="Declare it, e.g. --datum wgs84 / datum: gcj02.")
    ref = reference.to_crs(epsg=4326)
    ref_geoms = np.asarray(ref.geometry.values)
    ref_geoms = ref_geoms[~(shapely.is_missing(ref_geoms) | shapely.is_empty(ref_geoms))]
    if ref_geoms.size == 0:
        return DatumReference(None, None, None)
    utm = _utm_crs(tuple(float(v) for v in shapely.total_bounds(ref_geoms)))
    to_metric = pyproj.Transformer.from_crs("EPSG:4326", utm, always_xy=True)
    ref_metric = shapely.transform(ref_geoms, to_metric.transform, interleaved=False)
    hull = shapely.convex_hull(shapely.multipoints(shapely.get_coordinates(ref_metric)))
    return DatumReference(to_metric, hull, shapely.STRtree(ref_metric))


def check_datum_shift(
    layer: gpd.GeoDataFrame,
    reference: gpd.GeoDataFrame,
    *,
    source: str | None = None,
    sample: int = 2000,
    min_ratio: float = 0.5,
    min_gain_m: float = 10.0,
    min_vertices: int = 20,
    seed: int = 0,
) -> DatumCheck:
    """Test whether a layer declared WGS 84 is really GCJ-02 or BD-09.

    Up to ``sample`` vertices of ``layer`` that lie inside the convex hull of
    ``reference`` (an OpenStreetMap layer known to be WGS 84, e.g. the street
    network) are compared with it in a metric (UTM) CRS: the median distance
    to the nearest reference geometry is computed for the vertices as
    declared, as if they were GCJ-02, and as if they were BD-09.  A reading is
    suspected when its median is below ``min_ratio`` times the declared one
    *and* at least ``min_gain_m`` metres smaller.  On a dense street network a
    500 m shift still leaves most vertices a few tens of metres from some
    street, hence the modest default ``min_gain_m``; against a sparse reference
    the gain is hundreds of metres.  The same shift turned by 90, 180 and 270
    degrees is the control: a layer that keeps away from streets (water,
    woods, park interiors) comes nearer to some street under any shift of that
    size, and is suspected only when the datum's own reading beats the
    controls as well.

    Parameters
    ----------
    layer : geopandas.GeoDataFrame
        The layer to check, with a CRS (as declared or labelled).
    reference : geopandas.GeoDataFrame or DatumReference
        A WGS 84-true reference layer with a CRS, overlapping ``layer`` (or the same
        prepared once by :func:`prepare_reference`, to check several layers against it).
    source : str, optional
        Name of the layer for messages.
    sample : int, default 2000
        Largest number of vertices compared (drawn reproducibly).
    min_ratio : float, default 0.5
        A reading must cut the median distance below this fraction.
    min_gain_m : float, default 10.0
        ... and by at least this many metres.
    min_vertices : int, default 20
        Fewer overlapping vertices than this give no verdict.
    seed : int, default 0
        Seed of the vertex sample.

    Returns
    -------
    DatumCheck
        The medians, the suspected datum (or None) and a message.

    Raises
    ------
    geoplan.errors.DataError
        If ``layer`` or ``reference`` has no CRS.
    """
    name = source or "layer"
    if sample < 1:
        raise UsageError(f"sample must be a positive number of vertices, not {sample!r}.")
    for frame, what in ((layer, name), (reference, "reference layer")):
        if not isinstance(frame, DatumReference) and frame.crs is None:
            raise DataError(
                "the layer has no coordinate reference system; cannot check its datum.",
                source=what,
                hint="Declare it, e.g. --datum wgs84 / datum: gcj02.",
            )
    ref = reference if isinstance(reference, DatumReference) else prepare_reference(reference)
    nan = float("nan")
    if ref.tree is None:
        message = f"{name}: the reference layer is empty; datum not checked."
        return DatumCheck(0, nan, nan, nan, None, message, source)
    to_metric, hull, tree = ref.to_metric, ref.hull, ref.tree

    lay = layer.to_crs(epsg=4326)
    coords = shapely.get_coordinates(np.asarray(lay.geometry.values))
    coords = coords[np.isfinite(coords).all(axis=1)]
    mx, my = to_metric.transform(coords[:, 0], coords[:, 1])
    coords = coords[shapely.contains_xy(hull, mx, my)]
    if len(coords) > sample:
        rng = np.random.default_rng(seed)
        coords = coords[np.sort(rng.choice(len(coords), size=sample, replace=False))]
    n = len(coords)
    if n < min_vertices:
        return DatumCheck(
            n, nan, nan, nan, None,
            f"{name}: only {n} vertices lie within the reference layer's extent; "
            "datum not checked.",
            source,
        )

    def _median(x: np.ndarray, y: np.ndarray) -> float:
        _, dist = tree.query_nearest(shapely.points(x, y), return_distance=True, all_matches=False)
        return float(np.median(dist))

    lon, lat = coords[:, 0], coords[:, 1]
    x0, y0 = (np.asarray(v) for v in to_metric.transform(lon, lat))
    declared_m = _median(x0, y0)
    readings = {}
    for label, func in (("gcj02", gcj02_to_wgs84), ("bd09", bd09_to_wgs84)):
        x1, y1 = (np.asarray(v) for v in to_metric.transform(*func(lon, lat)))
        # The same shift turned by 90, 180 and 270 degrees is the control: a layer that avoids the streets
        # (water, woods, the inside of parks) comes nearer to some street under ANY shift of that size.
        dx, dy = float(np.mean(x1 - x0)), float(np.mean(y1 - y0))
        control = min(_median(x0 + cx, y0 + cy) for cx, cy in ((-dy, dx), (-dx, -dy), (dy, -dx)))
        readings[label] = (_median(x1, y1), control)
    as_gcj, as_bd = readings["gcj02"][0], readings["bd09"][0]

    suspected: str | None = None
    best = declared_m
    for label, (med, control) in readings.items():
        bar = min(declared_m, control)
        if med < min_ratio * bar and bar - med >= min_gain_m and med < best:
            suspected, best = label, med
    if suspected is not None:
        message = (
            f"{name} looks like {_DATUM_LABELS[suspected]} coordinates labelled as WGS 84: "
            f"its vertices lie a median {declared_m:.0f} m from the OpenStreetMap reference "
            f"as declared but {best:.0f} m if read as {suspected}. "
            f"Declare the layer as {suspected}: --datum {suspected} / datum: {suspected}."
        )
    else:
        message = (
            f"{name}: consistent with its declared datum (median {declared_m:.0f} m from the "
            f"reference as declared, {as_gcj:.0f} m if read as gcj02, {as_bd:.0f} m if read "
            "as bd09)."
        )
    return DatumCheck(n, declared_m, as_gcj, as_bd, suspected, message, source)


def warn_if_shifted(
    layer: gpd.GeoDataFrame,
    reference: gpd.GeoDataFrame,
    *,
    source: str | None = None,
    sample: int = 2000,
    **kwargs: float,
) -> DatumCheck:
    """Run :func:`check_datum_shift` and warn when the layer looks shifted.

    Parameters
    ----------
    layer, reference : geopandas.GeoDataFrame
        As for :func:`check_datum_shift`.
    source : str, optional
        Name of the layer for messages.
    sample : int, default 2000
        Largest number of vertices compared.
    **kwargs
        Further thresholds passed to :func:`check_datum_shift`.

    Returns
    -------
    DatumCheck
        The result of the check.

    Warns
    -----
    geoplan.errors.GeoplanWarning
        With the check's message, when a GCJ-02 or BD-09 shift is suspected.
    """
    check = check_datum_shift(layer, reference, source=source, sample=sample, **kwargs)
    if check.suspected is not None:
        warnings.warn(check.message, GeoplanWarning, stacklevel=2)
    return check
