"""Interactive Leaflet maps (through Folium) from :class:`~geoplan.maps.layers.MapLayer` lists.

The map uses only Leaflet (and jQuery, for Folium popups): no Bootstrap, no
icon fonts, so :func:`geoplan.maps.save_map` can embed every asset and the
saved file opens with no internet. Geometry is simplified *for display only*
so a district map stays small.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement
from folium.template import Template

from geoplan.errors import DataError, UsageError
from geoplan.maps.layers import MapLayer, as_basemap_layers, check_layers

Basemap = Literal["auto", "tiles", "osm-data", "none"]
DEFAULT_ATTRIBUTION = "© OpenStreetMap contributors"
#: CSS font stack able to show Chinese labels on Linux, Windows and macOS.
CJK_FONT_STACK = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", '
    '"PingFang SC", "WenQuanYi Micro Hei", "Helvetica Neue", Arial, sans-serif'
)
#: Decimal places kept in coordinates (1e-6 degree is about 0.1 m).
COORD_DECIMALS = 6
BASEMAP_COORD_DECIMALS = 5
BASEMAP_PANE = "geoplanBasemap"

_SCRIPTS = dict(folium.folium._default_js)
_STYLES = dict(folium.folium._default_css)
#: The only assets an interactive_map references; all can be embedded offline.
MAP_JS: list[tuple[str, str]] = [("leaflet", _SCRIPTS["leaflet"]), ("jquery", _SCRIPTS["jquery"])]
MAP_CSS: list[tuple[str, str]] = [("leaflet_css", _STYLES["leaflet_css"])]


def interactive_map(
    layers: Sequence[MapLayer] | MapLayer,
    *,
    title: str,
    basemap: Basemap = "auto",
    basemap_layers: Mapping[str, gpd.GeoDataFrame | None] | Sequence[MapLayer] | None = None,
    attribution: str = DEFAULT_ATTRIBUTION,
    simplify_tolerance_m: float | None = None,
) -> folium.Map:
    """Build a Folium map with a layer control, a legend, tooltips and a title.

    Parameters
    ----------
    layers : sequence of MapLayer or MapLayer
        Layers to draw, bottom first.
    title : str
        Title shown on the map and as the page title (any language).
    basemap : {"auto", "tiles", "osm-data", "none"}
        ``"tiles"``: OpenStreetMap raster tiles (needs internet to show).
        ``"osm-data"``: a light basemap drawn from ``basemap_layers`` (works
        offline). ``"none"``: no basemap. ``"auto"``: ``"osm-data"`` when
        ``basemap_layers`` is given, else ``"tiles"``.
    basemap_layers : mapping or sequence of MapLayer, optional
        OpenStreetMap vector data for the ``"osm-data"`` basemap, e.g.
        ``{"streets": ..., "water": ..., "buildings": ...}``.
    attribution : str
        Data attribution shown in the corner of the map.
    simplify_tolerance_m : float, optional
        Display simplification tolerance in metres; chosen from the extent
        (about 1/4000 of its larger side, 0.5-25 m) when None. 0 disables it.

    Returns
    -------
    folium.Map
        Save it with :func:`geoplan.maps.save_map` to get an offline HTML file.

    Raises
    ------
    UsageError
        Unknown basemap, or "osm-data" without basemap layers.
    DataError
        No layer has any feature to show.
    """
    layers = check_layers(layers)
    base = as_basemap_layers(basemap_layers)
    mode = _resolve_basemap(basemap, base)
    bounds = _bounds_4326(layers) or _bounds_4326(base)
    if bounds is None:
        raise DataError("Nothing to map: every layer is empty.", hint="Check the analysis produced features.")
    metric_crs = _metric_crs(bounds)
    tolerance = _tolerance(bounds, metric_crs, simplify_tolerance_m)

    m = _new_map(title)
    if mode == "tiles":
        folium.TileLayer("OpenStreetMap", control=False).add_to(m)
    elif mode == "osm-data":
        _add_basemap(m, base, metric_crs, tolerance)
    geojsons = [_add_layer(m, layer, i, metric_crs, tolerance) for i, layer in enumerate(layers)]
    folium.LayerControl(collapsed=False, position="topright").add_to(m)
    _MapChrome(title, layers, geojsons, attribution if mode != "tiles" else None, light=mode != "tiles").add_to(m)
    west, south, east, north = bounds
    m.fit_bounds([[round(south, COORD_DECIMALS), round(west, COORD_DECIMALS)],
                  [round(north, COORD_DECIMALS), round(east, COORD_DECIMALS)]], padding=(12, 12))
    return m


# ------------------------------------------------------------------ the map
def _new_map(title: str) -> folium.Map:
    m = folium.Map(location=[0.0, 0.0], zoom_start=2, tiles=None, control_scale=True)
    # Only Leaflet (+ jQuery for popups): every asset can be embedded offline.
    m.default_js = list(MAP_JS)
    m.default_css = list(MAP_CSS)
    m.get_root().title = html.escape(title)
    return m


def _resolve_basemap(basemap: str, base: list[MapLayer]) -> str:
    if basemap not in ("auto", "tiles", "osm-data", "none"):
        raise UsageError(f"Unknown basemap {basemap!r}.", hint='Use "auto", "tiles", "osm-data" or "none".')
    if basemap == "auto":
        return "osm-data" if base else "tiles"
    if basemap == "osm-data" and not base:
        raise UsageError(
            'basemap="osm-data" needs basemap_layers.',
            hint='Pass e.g. basemap_layers={"streets": ..., "water": ..., "buildings": ...}.',
        )
    return basemap


def _add_basemap(m: folium.Map, base: list[MapLayer], metric_crs: Any, tolerance: float) -> None:
    folium.map.CustomPane(BASEMAP_PANE, z_index=350, pointer_events=False).add_to(m)
    for i, layer in enumerate(base):
        # Context only: twice the tolerance, 1e-5 degree (about 1 m) precision.
        gdf = display_geometry(layer.gdf, metric_crs, 2 * tolerance, BASEMAP_COORD_DECIMALS)
        if gdf.empty:
            continue
        style = _style(layer, layer.stroke_color(i), layer.feature_colors(i)[0] if len(layer.gdf) else None)
        folium.GeoJson(
            merged_collection(gdf),
            name=layer.name,
            control=False,
            style_function=lambda _f, s=style: s,
            pane=BASEMAP_PANE,
            interactive=False,
        ).add_to(m)


def _add_layer(m: folium.Map, layer: MapLayer, index: int, metric_crs: Any, tolerance: float) -> folium.GeoJson:
    gdf = layer.gdf.copy()
    gdf["__colour"] = layer.feature_colors(index)
    gdf = display_geometry(gdf, metric_crs, tolerance, COORD_DECIMALS)
    fields = [f for f, _ in (layer.tooltip or [])]
    data = _feature_collection(gdf, fields)
    stroke = layer.stroke_color(index)
    styles = [_style(layer, stroke, c) for c in gdf["__colour"]]
    geojson = folium.GeoJson(
        data,
        name=html.escape(layer.name),
        show=layer.show,
        style_function=lambda f, s=styles: s[f["id"]],
        marker=_marker(layer),
        # folium checks tooltip fields against the first feature: an empty layer gets none
        tooltip=_tooltip(layer) if layer.interactive and len(gdf) else None,
        interactive=layer.interactive,
        smooth_factor=0.5,
    )
    geojson.add_to(m)
    return geojson


def _style(layer: MapLayer, stroke: str, colour: str | None) -> dict[str, Any]:
    style: dict[str, Any] = {"weight": layer.weight, "opacity": layer.opacity}
    if layer.kind == "line":
        style["color"] = colour or stroke
        style["fill"] = False
    else:
        style["color"] = stroke if layer.kind == "polygon" or layer.color else colour
        style["fillColor"] = colour or stroke
        style["fillOpacity"] = layer.fill_opacity
    if layer.dash:
        style["dashArray"] = layer.dash
    if layer.weight == 0:
        style["stroke"] = False
    return style


def _marker(layer: MapLayer) -> folium.CircleMarker | folium.Circle | None:
    if layer.kind != "point":
        return None
    if layer.radius_m is not None:
        return folium.Circle(radius=float(layer.radius_m))
    return folium.CircleMarker(radius=float(layer.radius_px))


def _tooltip(layer: MapLayer) -> folium.GeoJsonTooltip | None:
    if not layer.tooltip:
        return None
    fields = [f for f, _ in layer.tooltip]
    aliases = [html.escape(str(label)) for _, label in layer.tooltip]
    return folium.GeoJsonTooltip(
        fields=fields,
        aliases=aliases,
        localize=True,
        sticky=True,
        style=f"font-family: {CJK_FONT_STACK}; font-size: 13px;",
    )


# ------------------------------------------------------------- geometry prep
def display_geometry(
    gdf: gpd.GeoDataFrame, metric_crs: Any, tolerance_m: float, decimals: int = COORD_DECIMALS
) -> gpd.GeoDataFrame:
    """Simplify and round geometry for display, returning it in EPSG:4326.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Features in any CRS.
    metric_crs : pyproj.CRS or str
        Projected CRS in metres in which the tolerance is applied.
    tolerance_m : float
        Douglas-Peucker tolerance in metres (topology preserved); 0 skips it.
    decimals : int
        Decimal places kept in longitude / latitude.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with a fresh 0..n-1 index; empty geometries are dropped.
    """
    out = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if out.empty:
        return out.to_crs(4326).reset_index(drop=True)
    geoms = out.geometry
    if tolerance_m > 0 and not geoms.geom_type.isin(["Point", "MultiPoint"]).all():
        geoms = geoms.to_crs(metric_crs).simplify(tolerance_m, preserve_topology=True)
    geoms = geoms.to_crs(4326)
    rounded = shapely.transform(geoms.values, lambda xy: np.round(xy, decimals))
    out = out.set_geometry(gpd.GeoSeries(rounded, index=out.index, crs=4326))
    out = out[~out.geometry.is_empty]
    return out.reset_index(drop=True)


def _feature_collection(gdf: gpd.GeoDataFrame, fields: list[str]) -> dict[str, Any]:
    """GeoJSON FeatureCollection with integer ids and only the tooltip fields."""
    props = pd.DataFrame({f: _json_safe(gdf[f]) for f in fields}, index=gdf.index)
    records = props.to_dict(orient="records") if fields else [{}] * len(gdf)
    features = [
        {"type": "Feature", "id": i, "properties": rec, "geometry": geom}
        for i, (rec, geom) in enumerate(zip(records, _geometries(gdf), strict=True))
    ]
    return {"type": "FeatureCollection", "features": features}


def merged_collection(gdf: gpd.GeoDataFrame, chunk: int = 5000) -> dict[str, Any]:
    """Pack many plain features into a few multi-part features (for the basemap).

    Basemap features carry no attributes and share one style, so thousands of
    streets become a handful of MultiLineStrings (touching segments merged),
    which shrinks the file and the page's DOM.

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        Lines or polygons, already prepared with :func:`display_geometry`.
    chunk : int
        Parts per output feature.
    """
    parts = shapely.get_parts(gdf.geometry.values)
    types = shapely.get_type_id(parts)
    features = []
    lines = parts[types == 1]
    if lines.size:
        lines = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
        features += [shapely.multilinestrings(lines[i:i + chunk]) for i in range(0, lines.size, chunk)]
    polygons = parts[types == 3]
    features += [shapely.multipolygons(polygons[i:i + chunk]) for i in range(0, polygons.size, chunk)]
    merged = gpd.GeoDataFrame(geometry=features, crs=4326)
    return _feature_collection(merged, [])


def _geometries(gdf: gpd.GeoDataFrame) -> list[dict[str, Any]]:
    return [json.loads(s) for s in shapely.to_geojson(gdf.geometry.values)]


def _json_safe(values: pd.Series) -> list[Any]:
    """Tooltip values as JSON scalars: numbers stay numbers, text is HTML-escaped."""
    out: list[Any] = []
    for v in values:
        if v is None or (isinstance(v, float) and math.isnan(v)) or (np.ndim(v) == 0 and pd.isna(v)):
            out.append(None)
        elif isinstance(v, (bool, np.bool_)):
            out.append(bool(v))
        elif isinstance(v, (int, np.integer)):
            out.append(int(v))
        elif isinstance(v, (float, np.floating)):
            out.append(float(v) if math.isfinite(v) else None)
        else:
            out.append(html.escape(str(v)))
    return out


def _bounds_4326(layers: Sequence[MapLayer]) -> tuple[float, float, float, float] | None:
    boxes = []
    for layer in layers:
        gdf = layer.gdf[~(layer.gdf.geometry.isna() | layer.gdf.geometry.is_empty)]
        if not gdf.empty:
            boxes.append(gdf.to_crs(4326).total_bounds)
    if not boxes:
        return None
    arr = np.array(boxes)
    return float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max())


def _metric_crs(bounds: tuple[float, float, float, float]) -> Any:
    west, south, east, north = bounds
    box = gpd.GeoSeries([shapely.box(west, south, east, north)], crs=4326)
    return box.estimate_utm_crs()


def _tolerance(bounds: tuple[float, float, float, float], metric_crs: Any, given: float | None) -> float:
    if given is not None:
        if given < 0:
            raise UsageError("simplify_tolerance_m cannot be negative.")
        return float(given)
    west, south, east, north = bounds
    box = gpd.GeoSeries([shapely.box(west, south, east, north)], crs=4326).to_crs(metric_crs)
    minx, miny, maxx, maxy = box.total_bounds
    return float(min(max(max(maxx - minx, maxy - miny) / 4000.0, 0.5), 25.0))


# --------------------------------------------------------- title and legend
_CHROME_CSS = """
.geoplan-title {position: absolute; top: 10px; left: 54px;
  z-index: 1000; pointer-events: none; box-sizing: border-box; background: rgba(255,255,255,0.9); padding: 6px 14px;
  border-radius: 4px; box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 600 17px FONTS;
  color: #222; max-width: 60%; text-align: center; overflow-wrap: anywhere;}
.geoplan-legend {background: rgba(255,255,255,0.92); padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px FONTS; color: #222; line-height: 18px;
  max-height: 60vh; overflow-y: auto; min-width: 120px; box-sizing: border-box;}
.geoplan-legend h4 {margin: 0 0 4px; font-size: 13px; font-weight: 600;}
.geoplan-legend .geoplan-legend-section + .geoplan-legend-section {margin-top: 6px;}
.geoplan-legend .geoplan-legend-row {display: flex; align-items: center; gap: 6px;}
.geoplan-legend .geoplan-swatch {display: inline-block; flex: none; width: 16px; height: 12px;
  box-sizing: border-box;}
.geoplan-legend .geoplan-swatch-line {height: 0; border-top-width: 3px; border-top-style: solid;}
.geoplan-legend .geoplan-swatch-point {width: 11px; height: 11px; border-radius: 50%; margin: 0 2px;}
.leaflet-control-layers, .leaflet-tooltip {font-family: FONTS;}
""".replace("FONTS", CJK_FONT_STACK)


def legend_html(layers: Sequence[MapLayer]) -> list[str]:
    """Return one HTML legend section per layer (empty string when it has no rows).

    Parameters
    ----------
    layers : sequence of MapLayer
        The map's layers, in map order (palette colours depend on position).
    """
    sections = []
    for i, layer in enumerate(layers):
        rows = layer.legend_entries(i)
        if not rows:
            sections.append("")
            continue
        stroke = layer.stroke_color(i)
        body = "".join(
            f'<div class="geoplan-legend-row">{_swatch(layer, stroke, c)}<span>{html.escape(label)}</span></div>'
            for label, c in rows
        )
        sections.append(f"<h4>{html.escape(layer.name)}</h4>{body}")
    return sections


def _swatch(layer: MapLayer, stroke: str, colour: str) -> str:
    if layer.kind == "line":
        style = f"border-top-color:{colour};"
        if layer.dash:
            style += "border-top-style:dashed;"
        return f'<i class="geoplan-swatch geoplan-swatch-line" style="{style}"></i>'
    border = stroke if (layer.kind == "polygon" and layer.weight > 0 and stroke != "#ffffff") else colour
    alpha = max(layer.fill_opacity, 0.35)
    cls = "geoplan-swatch-point" if layer.kind == "point" else ""
    return (
        f'<i class="geoplan-swatch {cls}" style="background:{colour};opacity:{alpha:.2f};'
        f'border:1px solid {border};"></i>'
    )


class _MapChrome(MacroElement):
    """Title box, legend control (synced with the layer control) and attribution."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function () {
            var map = {{ this._parent.get_name() }};
            var title = L.DomUtil.create("div", "geoplan-title", map.getContainer());
            title.textContent = {{ this.title|tojson }};
            function placeTitle() {
                // Centre the title in the free space between the top-left and top-right controls.
                var box = map.getContainer().getBoundingClientRect();
                var left = map.getContainer().querySelector(".leaflet-top.leaflet-left");
                var right = map.getContainer().querySelector(".leaflet-top.leaflet-right");
                var l = left && left.offsetWidth ? left.getBoundingClientRect().right - box.left + 8 : 10;
                var r = right && right.offsetWidth ? box.right - right.getBoundingClientRect().left + 8 : 10;
                var free = Math.max(box.width - l - r, 140);
                title.style.maxWidth = free + "px";
                title.style.left = (l + Math.max(0, (free - title.offsetWidth) / 2)) + "px";
            }
            map.whenReady(function () { setTimeout(placeTitle, 0); });
            map.on("resize", placeTitle);
            {%- if this.attribution %}
            map.attributionControl.addAttribution({{ this.attribution|tojson }});
            {%- endif %}
            var layers = [{% for name in this.layer_names %}{{ name }}{% if not loop.last %}, {% endif %}{% endfor %}];
            var sections = {{ this.sections|tojson }};
            if (!sections.some(function (s) { return s.length > 0; })) { return; }
            var legend = L.control({position: "bottomright"});
            var parts = [];
            legend.onAdd = function () {
                var div = L.DomUtil.create("div", "geoplan-legend");
                div.setAttribute("role", "region");
                div.setAttribute("aria-label", {{ this.title|tojson }});
                sections.forEach(function (html, i) {
                    var part = L.DomUtil.create("div", "geoplan-legend-section", div);
                    part.innerHTML = html;
                    part.style.display = html ? "" : "none";
                    parts.push(part);
                });
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo(map);
            function fitLegend() {
                // Keep the legend clear of the layer control on small screens (it scrolls instead).
                var div = legend.getContainer();
                var box = map.getContainer().getBoundingClientRect();
                var right = map.getContainer().querySelector(".leaflet-top.leaflet-right");
                var top = right && right.offsetHeight ? right.getBoundingClientRect().bottom - box.top : 0;
                div.style.maxHeight = Math.max(box.height - top - 40, 80) + "px";
            }
            map.whenReady(function () { setTimeout(fitLegend, 0); });
            map.on("resize", fitLegend);
            function sync() {
                layers.forEach(function (layer, i) {
                    parts[i].style.display = sections[i] && map.hasLayer(layer) ? "" : "none";
                });
            }
            map.on("overlayadd overlayremove", sync);
            sync();
        })();
        {% endmacro %}
        """
    )

    def __init__(
        self,
        title: str,
        layers: Sequence[MapLayer],
        geojsons: Sequence[folium.GeoJson],
        attribution: str | None,
        light: bool = False,
    ) -> None:
        super().__init__()
        self._name = "GeoplanMapChrome"
        self.css = _CHROME_CSS + (".leaflet-container {background: #f7f7f4;}" if light else "")
        self.title = title
        self.attribution = html.escape(attribution) if attribution else None
        self.layer_names = [g.get_name() for g in geojsons]
        self.sections = legend_html(layers)
