"""Backend-independent description of a map layer.

An analysis builds a list of :class:`MapLayer` and hands the same list to
:func:`geoplan.maps.interactive_map` (Folium / Leaflet, for the browser) and to
:func:`geoplan.maps.static_map` (matplotlib, for printed reports). Everything
that decides *what a feature looks like* lives here, so both renderers draw the
same colours and the same legend.

Labels (layer names, legend labels, tooltip labels) are passed in already
translated; they may be Chinese or English.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import colormaps
from matplotlib.colors import to_hex

from geoplan.errors import DataError, UsageError

LayerKind = Literal["polygon", "line", "point"]
KINDS: tuple[str, ...] = ("polygon", "line", "point")

#: Colours given to layers that set no colour, in layer order.
DEFAULT_PALETTE: tuple[str, ...] = (
    "#2b8cbe", "#e6550d", "#31a354", "#756bb1", "#de2d26", "#636363", "#d6a300", "#1b9e77",
)
#: Colour of features whose value is missing or not in ``categories``.
MISSING_COLOR = "#bdbdbd"
#: Sequential colour map used for numeric columns when ``cmap`` is not set.
DEFAULT_SEQUENTIAL_CMAP = "YlGnBu"
#: Qualitative colour map used for categorical columns when neither ``categories`` nor ``cmap`` is set.
DEFAULT_QUALITATIVE_CMAP = "tab10"

_GEOM_KIND = {
    "Polygon": "polygon", "MultiPolygon": "polygon",
    "LineString": "line", "MultiLineString": "line", "LinearRing": "line",
    "Point": "point", "MultiPoint": "point",
}


class LegendEntry(NamedTuple):
    """One legend row: a label (already translated) and a colour (``#rrggbb``)."""

    label: str
    color: str


@dataclass
class MapLayer:
    """A layer to draw: data, symbology, tooltip and legend, for any renderer.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features to draw, in any CRS (it must have one).
    name : str
        Layer name shown in the layer control and as the legend heading.
    kind : {"polygon", "line", "point"} or None
        How to draw the features. ``None`` infers it from the first geometry.
    color : str, optional
        Stroke colour (any matplotlib/CSS colour). Defaults to a palette colour.
    fill_color : str, optional
        Fill colour of polygons and points. Defaults to ``color``.
    column : str, optional
        Colour features by this column: numeric columns are classed into
        ``bins`` classes (choropleth), other columns are categorical.
    cmap : str, optional
        Matplotlib colour map name for ``column``.
    categories : mapping, optional
        Value -> colour, for a categorical ``column``. Values not listed are
        drawn in :data:`MISSING_COLOR`.
    category_labels : mapping, optional
        Value -> legend label (translated), for a categorical ``column``.
    bins : int or sequence of float
        Number of quantile classes, or explicit class edges, for a numeric
        ``column``.
    value_format : str, optional
        ``str.format`` pattern for class edges in the legend, e.g. ``"{:.0%}"``.
    tooltip : sequence of (field, label), optional
        Fields shown on hover in the interactive map, with their labels.
    legend : "auto", sequence of (label, colour), or None
        Legend rows. ``"auto"`` derives them from the symbology; ``None`` hides
        the layer from the legend.
    show : bool
        Whether the layer is visible when the interactive map opens.
    weight : float
        Stroke width in screen pixels (the print map converts it to points).
    opacity : float
        Stroke opacity, 0..1.
    fill_opacity : float
        Fill opacity, 0..1.
    radius_m : float, optional
        Radius of point symbols in metres (scales with zoom); when ``None``
        points are drawn with a fixed ``radius_px``.
    radius_px : float
        Radius of point symbols in screen pixels when ``radius_m`` is None.
    dash : str, optional
        Dash pattern for strokes, in SVG notation, e.g. ``"6 4"``.
    missing_label : str, optional
        Legend label for features with no value / no category; no row if None.
    empty_label : str, optional
        The one legend row of a layer with no feature (e.g. "none"), so that a
        layer the data lack is shown as empty rather than left out or given
        the rows of its categories; default: the usual rows.
    interactive : bool
        Whether features react to the mouse (tooltips) in the interactive map.
    label_field : str, optional
        Write this field's value on each feature (unit names): permanent labels
        on the interactive map, haloed text on the print map.
    searchable : bool
        List the features in the interactive map's search box by ``label_field``.
    group : str, optional
        Heading of the layer's group in the interactive map's layer control
        (one group per analysis).
    hatch : str, optional
        Matplotlib hatch pattern of polygons on the print map (e.g. ``"////"``),
        so the class stays apart from fills of the same lightness in greyscale;
        the interactive map draws a dashed outline instead.
    class_colors : sequence of str, optional
        One colour per class of a numeric ``column`` (ColorBrewer classes),
        instead of colours sampled from ``cmap``.
    key : str, optional
        A stable name of what the layer shows (``"blind_spots"``), e.g. to
        style the GeoPackage layer holding the same features.
    """

    gdf: gpd.GeoDataFrame
    name: str
    kind: LayerKind | None = None
    color: str | None = None
    fill_color: str | None = None
    column: str | None = None
    cmap: str | None = None
    categories: Mapping[Any, str] | None = None
    category_labels: Mapping[Any, str] | None = None
    bins: int | Sequence[float] = 5
    value_format: str | None = None
    tooltip: Sequence[tuple[str, str]] | None = None
    legend: Literal["auto"] | Sequence[tuple[str, str]] | None = "auto"
    show: bool = True
    weight: float = 1.5
    opacity: float = 1.0
    fill_opacity: float = 0.55
    radius_m: float | None = None
    radius_px: float = 4.0
    dash: str | None = None
    missing_label: str | None = None
    interactive: bool = True
    empty_label: str | None = None
    label_field: str | None = None
    searchable: bool = False
    group: str | None = None
    hatch: str | None = None
    class_colors: Sequence[str] | None = None
    key: str | None = None

    def __post_init__(self) -> None:
        _check_gdf(self.gdf, self.name)
        if self.kind is None:
            self.kind = infer_kind(self.gdf)
        if self.kind not in KINDS:
            raise UsageError(f"Layer {self.name!r}: kind must be one of {', '.join(KINDS)}, not {self.kind!r}.")
        for colour in (self.color, self.fill_color, *(self.categories or {}).values(), *(self.class_colors or ())):
            if colour is not None:
                _hex(colour, self.name)
        self._check_fields()
        if not 0 <= self.opacity <= 1 or not 0 <= self.fill_opacity <= 1:
            raise UsageError(f"Layer {self.name!r}: opacity and fill_opacity must lie between 0 and 1.")

    def _check_fields(self) -> None:
        wanted = [f for f, _ in (self.tooltip or [])]
        if self.column is not None:
            wanted.append(self.column)
        if self.label_field is not None:
            wanted.append(self.label_field)
        missing = [f for f in wanted if f not in self.gdf.columns]
        if missing:
            raise DataError(
                f"Layer {self.name!r} has no column {', '.join(map(repr, missing))}.",
                hint=f"Columns present: {', '.join(map(str, self.gdf.columns))}.",
            )

    # ------------------------------------------------------------------ colours
    def stroke_color(self, index: int = 0) -> str:
        """Return the layer's stroke colour as ``#rrggbb``.

        Parameters
        ----------
        index : int
            Position of the layer in the map, used to pick a palette colour
            when no colour was set.
        """
        if self.color is not None:
            return _hex(self.color, self.name)
        if self.column is not None and self.kind == "polygon":
            return "#ffffff"
        return DEFAULT_PALETTE[index % len(DEFAULT_PALETTE)]

    def base_fill_color(self, index: int = 0) -> str:
        """Return the single fill colour used when the layer has no ``column``."""
        if self.fill_color is not None:
            return _hex(self.fill_color, self.name)
        if self.color is not None:
            return _hex(self.color, self.name)
        return DEFAULT_PALETTE[index % len(DEFAULT_PALETTE)]

    def is_categorical(self) -> bool:
        """Whether ``column`` is coloured by category (rather than classed numbers)."""
        if self.column is None:
            return False
        if self.categories is not None:
            return True
        values = self.gdf[self.column]
        return not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values))

    def feature_colors(self, index: int = 0) -> list[str]:
        """Return one colour per feature: the fill of polygons and points, the stroke of lines.

        Parameters
        ----------
        index : int
            Position of the layer in the map (palette colour when none is set).

        Returns
        -------
        list of str
            ``#rrggbb`` colours, aligned with the rows of ``gdf``.
        """
        n = len(self.gdf)
        if self.column is None:
            colour = self.base_fill_color(index) if self.kind != "line" else self.stroke_color(index)
            return [colour] * n
        if self.is_categorical():
            mapping = self._category_colors()
            return [mapping.get(_key(v), MISSING_COLOR) for v in self.gdf[self.column]]
        edges, colours = self._numeric_classes()
        values = pd.to_numeric(self.gdf[self.column], errors="coerce").to_numpy(dtype=float)
        return _classify(values, edges, colours)

    def _category_colors(self) -> dict[Any, str]:
        if self.categories is not None:
            return {_key(k): _hex(v, self.name) for k, v in self.categories.items()}
        values = [v for v in pd.unique(self.gdf[self.column]) if not _is_missing(v)]
        values = sorted(values, key=str)
        cmap = colormaps[self.cmap or DEFAULT_QUALITATIVE_CMAP]
        count = getattr(cmap, "N", 256)
        if count <= 20:
            colours = [to_hex(cmap(i % count)) for i in range(len(values))]
        else:
            colours = [to_hex(cmap(x)) for x in np.linspace(0.0, 1.0, len(values))]
        return {_key(v): c for v, c in zip(values, colours, strict=True)}

    def _numeric_classes(self) -> tuple[np.ndarray, list[str]]:
        values = pd.to_numeric(self.gdf[self.column], errors="coerce").to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        if isinstance(self.bins, int):
            if self.bins < 1:
                raise UsageError(f"Layer {self.name!r}: bins must be at least 1.")
            if values.size == 0:
                return np.array([0.0, 0.0]), [MISSING_COLOR]
            edges = np.unique(np.quantile(values, np.linspace(0, 1, self.bins + 1)))
            if edges.size == 1:
                edges = np.array([edges[0], edges[0]])
        else:
            edges = np.asarray(sorted(float(b) for b in self.bins), dtype=float)
            if edges.size < 2:
                raise UsageError(f"Layer {self.name!r}: give at least two class edges in bins.")
        k = edges.size - 1
        if self.class_colors is not None:
            if len(self.class_colors) < k:
                raise UsageError(f"Layer {self.name!r}: {k} classes but only {len(self.class_colors)} class_colors.")
            return edges, [_hex(c, self.name) for c in self.class_colors[:k]]
        cmap = colormaps[self.cmap or DEFAULT_SEQUENTIAL_CMAP]
        colours = [to_hex(cmap(x)) for x in (np.linspace(0.25, 0.95, k) if k > 1 else [0.6])]
        return edges, colours

    # ------------------------------------------------------------------- labels
    def label_points(self) -> gpd.GeoDataFrame:
        """Where to write each feature's ``label_field``: one point per feature, inside it.

        Polygons are labelled at the pole of inaccessibility of their largest
        part (the inside point farthest from the edge, found in metres), lines
        at their middle, points at themselves.

        Returns
        -------
        geopandas.GeoDataFrame
            Columns ``label`` (text), ``size`` (the feature's area plus length
            in metres, to place big features' labels first) and ``geometry``
            (points), in the layer's CRS; features with no label or no
            geometry are left out.
        """
        if self.label_field is None:
            return gpd.GeoDataFrame({"label": [], "size": []}, geometry=[], crs=self.gdf.crs)
        g = self.gdf[~(self.gdf.geometry.isna() | self.gdf.geometry.is_empty)]
        g = g[g[self.label_field].notna() & (g[self.label_field].astype(str).str.strip() != "")]
        if g.empty:
            return gpd.GeoDataFrame({"label": [], "size": []}, geometry=[], crs=self.gdf.crs)
        metric = g.crs if g.crs.is_projected else g.estimate_utm_crs()
        geoms = g.geometry.to_crs(metric).values
        points = [_label_point(geom) for geom in geoms]
        size = shapely.area(geoms) + shapely.length(geoms)
        out = gpd.GeoDataFrame({"label": g[self.label_field].astype(str).to_numpy(), "size": size},
                               geometry=gpd.GeoSeries(points, crs=metric).to_crs(g.crs).values, crs=g.crs)
        return out.reset_index(drop=True)

    # ------------------------------------------------------------------- legend
    def legend_entries(self, index: int = 0) -> list[LegendEntry]:
        """Return the legend rows of this layer (empty when ``legend`` is None).

        Parameters
        ----------
        index : int
            Position of the layer in the map (palette colour when none is set).
        """
        if self.legend is None:
            return []
        if self.empty_label is not None and not bool((self.gdf.geometry.notna() & ~self.gdf.geometry.is_empty).any()):
            return [LegendEntry(self.empty_label, MISSING_COLOR)]
        if self.legend != "auto":
            return [LegendEntry(str(label), _hex(colour, self.name)) for label, colour in self.legend]
        if self.column is None:
            colour = self.base_fill_color(index) if self.kind != "line" else self.stroke_color(index)
            return [LegendEntry(self.name, colour)]
        if self.is_categorical():
            labels = {_key(k): str(v) for k, v in (self.category_labels or {}).items()}
            rows = [LegendEntry(labels.get(k, str(k)), c) for k, c in self._category_colors().items()]
        else:
            edges, colours = self._numeric_classes()
            rows = [
                LegendEntry(f"{self._fmt(lo)} – {self._fmt(hi)}", c)
                for lo, hi, c in zip(edges[:-1], edges[1:], colours, strict=True)
            ]
        if self.missing_label is not None:
            rows.append(LegendEntry(self.missing_label, MISSING_COLOR))
        return rows

    def _fmt(self, value: float) -> str:
        if self.value_format is not None:
            return self.value_format.format(value)
        if float(value).is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"


def infer_kind(gdf: gpd.GeoDataFrame) -> str:
    """Return "polygon", "line" or "point" from the first non-empty geometry.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features to inspect. An empty frame is reported as "polygon".
    """
    types = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)].geom_type
    if types.empty:
        return "polygon"
    kind = _GEOM_KIND.get(types.iloc[0])
    if kind is None:
        raise DataError(f"Cannot draw geometries of type {types.iloc[0]}; split collections first.")
    return kind


# ---------------------------------------------------------------- OSM basemap
#: Style of each OpenStreetMap basemap layer, in drawing order (bottom first).
BASEMAP_STYLES: dict[str, dict[str, Any]] = {
    "landuse": dict(kind="polygon", color="#eef3e6", fill_color="#eef3e6", weight=0.0, fill_opacity=1.0),
    "green": dict(kind="polygon", color="#dcebd0", fill_color="#dcebd0", weight=0.0, fill_opacity=1.0),
    "water": dict(kind="polygon", color="#a9cfe8", fill_color="#cfe6f5", weight=0.5, fill_opacity=1.0),
    "buildings": dict(kind="polygon", color="#d2d2d2", fill_color="#e4e4e4", weight=0.3, fill_opacity=1.0),
    "streets": dict(kind="line", color="#a8a8a8", weight=0.8, opacity=1.0),
    "railways": dict(kind="line", color="#8c8c8c", weight=0.8, opacity=1.0, dash="4 3"),
}


def osm_basemap_layers(**layers: gpd.GeoDataFrame | None) -> list[MapLayer]:
    """Build light basemap layers from OpenStreetMap vector data.

    Parameters
    ----------
    **layers : geopandas.GeoDataFrame or None
        Any of ``landuse``, ``green``, ``water``, ``buildings``, ``streets``,
        ``railways``. Missing or ``None`` ones are skipped.

    Returns
    -------
    list of MapLayer
        Non-interactive layers without legend, in drawing order (water under
        buildings under streets), styled as in :data:`BASEMAP_STYLES`.
    """
    unknown = sorted(set(layers) - set(BASEMAP_STYLES))
    if unknown:
        raise UsageError(
            f"Unknown basemap layer {', '.join(map(repr, unknown))}.",
            hint=f"Use some of: {', '.join(BASEMAP_STYLES)}.",
        )
    out = []
    for key, style in BASEMAP_STYLES.items():
        gdf = layers.get(key)
        if gdf is None or len(gdf) == 0:
            continue
        geo = gdf[[gdf.geometry.name]]
        kind = style["kind"]
        if kind == "line":
            geo = geo[geo.geom_type.isin(["LineString", "MultiLineString"])]
        else:
            geo = geo[geo.geom_type.isin(["Polygon", "MultiPolygon"])]
        out.append(MapLayer(geo, name=key, legend=None, interactive=False, **style))
    return out


def as_basemap_layers(
    basemap_layers: Mapping[str, gpd.GeoDataFrame | None] | Sequence[MapLayer] | None,
) -> list[MapLayer]:
    """Normalise the ``basemap_layers`` argument of the renderers to a list of MapLayer.

    Parameters
    ----------
    basemap_layers : mapping, sequence of MapLayer, or None
        A mapping such as ``{"streets": gdf, "water": gdf, "buildings": gdf}``
        (see :func:`osm_basemap_layers`), ready-made layers, or None.
    """
    if basemap_layers is None:
        return []
    if isinstance(basemap_layers, Mapping):
        return osm_basemap_layers(**dict(basemap_layers))
    layers = list(basemap_layers)
    bad = [type(x).__name__ for x in layers if not isinstance(x, MapLayer)]
    if bad:
        raise UsageError(f"basemap_layers must be MapLayer objects or a mapping of GeoDataFrames, got {bad[0]}.")
    return layers


def check_layers(layers: Sequence[MapLayer] | MapLayer) -> list[MapLayer]:
    """Return ``layers`` as a list, raising UsageError when an item is not a MapLayer."""
    if isinstance(layers, MapLayer):
        return [layers]
    out = list(layers)
    for item in out:
        if not isinstance(item, MapLayer):
            raise UsageError(f"Expected MapLayer objects, got {type(item).__name__}.")
    return out


# ------------------------------------------------------------------- helpers
def _check_gdf(gdf: Any, name: str) -> None:
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise UsageError(f"Layer {name!r}: gdf must be a GeoDataFrame, got {type(gdf).__name__}.")
    if gdf.crs is None:
        raise DataError(f"Layer {name!r} has no CRS.", hint="Set one with gdf.set_crs(...).")


def _hex(colour: Any, name: str) -> str:
    try:
        return to_hex(colour)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"Layer {name!r}: {colour!r} is not a colour.") from exc


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _key(value: Any) -> Any:
    """Hashable key for a category value (numpy scalars become Python scalars)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def _label_point(geom: Any) -> Any:
    """A point inside a geometry where its label reads well (pole of inaccessibility of polygons)."""
    from shapely.ops import polylabel

    parts = shapely.get_parts(geom)
    kind = shapely.get_type_id(parts[0]) if len(parts) else -1
    if kind == 3:  # polygons: the largest part's pole of inaccessibility
        part = parts[int(np.argmax(shapely.area(parts)))]
        tolerance = max(float(np.sqrt(part.area)) / 50.0, 0.5)
        try:
            return polylabel(part, tolerance=tolerance)
        except Exception:  # noqa: BLE001 - a degenerate ring: any inside point will do
            return shapely.point_on_surface(part)
    if kind in (1, 2):  # lines: the middle of the longest part
        part = parts[int(np.argmax(shapely.length(parts)))]
        return shapely.line_interpolate_point(part, 0.5, normalized=True)
    return shapely.point_on_surface(geom)


def _classify(values: np.ndarray, edges: np.ndarray, colours: list[str]) -> list[str]:
    """Colour each value by the class of ``edges`` it falls in (last class closed)."""
    idx = np.searchsorted(edges, values, side="right") - 1
    idx = np.where(values == edges[-1], len(colours) - 1, idx)
    ok = np.isfinite(values) & (idx >= 0) & (idx < len(colours))
    return [colours[i] if good else MISSING_COLOR for i, good in zip(idx, ok, strict=True)]
