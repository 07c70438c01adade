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
from folium.plugins import GroupedLayerControl
from folium.template import Template

from geoplan.errors import DataError, UsageError
from geoplan.i18n import text as _text
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
    lang: Literal["zh", "en"] = "zh",
    collapsed: bool = True,
) -> folium.Map:
    """Build a Folium map with a layer control, a legend, tooltips, labels, a unit search and a title.

    Layers that name a ``group`` are listed under that heading in a grouped
    layer control (Leaflet.groupedlayercontrol, embedded offline); layers with
    a ``label_field`` carry permanent labels while they are on; the features of
    ``searchable`` layers are listed in a search box that zooms to them.

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
    lang : {"zh", "en"}
        Language of the map's own words (search box, layer button).
    collapsed : bool
        Show the layer control as a button that opens on hover or tap (the
        list does not cover the map), or always open.

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
    groups = layer_groups(layers, geojsons)
    if groups:
        GroupedLayerControl(groups, exclusive_groups=False, collapsed=collapsed, position="topright").add_to(m)
    else:
        folium.LayerControl(collapsed=collapsed, position="topright").add_to(m)
    _MapChrome(title, layers, geojsons, attribution if mode != "tiles" else None, light=mode != "tiles",
               lang=lang).add_to(m)
    west, south, east, north = bounds
    m.fit_bounds([[round(south, COORD_DECIMALS), round(west, COORD_DECIMALS)],
                  [round(north, COORD_DECIMALS), round(east, COORD_DECIMALS)]], padding=(12, 12))
    return m


# ------------------------------------------------------------------ the map
def layer_groups(layers: Sequence[MapLayer], geojsons: Sequence[folium.GeoJson]) -> dict[str, list[folium.GeoJson]]:
    """The layer control's groups: ``{heading: [GeoJson, ...]}`` in map order (empty when no layer has a group).

    Layers without a group go under the first layer's group heading. Names
    repeated inside a group get a number, since the control keys layers by name.
    """
    if not any(layer.group for layer in layers):
        return {}
    first = next(layer.group for layer in layers if layer.group)
    groups: dict[str, list[folium.GeoJson]] = {}
    seen: dict[str, set[str]] = {}
    for layer, geo in zip(layers, geojsons, strict=True):
        heading = html.escape(layer.group or first)
        names = seen.setdefault(heading, set())
        name, k = geo.layer_name, 2
        while name in names:
            name, k = f"{geo.layer_name} ({k})", k + 1
        geo.layer_name = name
        names.add(name)
        groups.setdefault(heading, []).append(geo)
    return groups


def _new_map(title: str) -> folium.Map:
    # quarter zoom steps: the area fills the window instead of the next whole zoom level down
    m = folium.Map(location=[0.0, 0.0], zoom_start=2, tiles=None, control_scale=True, zoom_snap=0.25, zoom_delta=0.5)
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
    if layer.hatch and layer.kind == "polygon":  # the print map's hatching: a dashed outline on screen
        style["dashArray"] = layer.dash or "6 4"
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
.geoplan-legend {background: rgba(255,255,255,0.94); padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 12px FONTS; color: #222; line-height: 17px;
  overflow-y: auto; min-width: 120px; max-width: 300px; box-sizing: border-box;}
.geoplan-legend h4 {margin: 0 0 3px; font-size: 12.5px; font-weight: 600; line-height: 16px;}
.geoplan-legend .geoplan-legend-section + .geoplan-legend-section {margin-top: 6px;}
.geoplan-legend .geoplan-legend-row {display: flex; align-items: center; gap: 6px;}
.geoplan-legend .geoplan-swatch {display: inline-block; flex: none; width: 16px; height: 12px;
  box-sizing: border-box;}
.geoplan-legend .geoplan-swatch-line {height: 0; border-top-width: 3px; border-top-style: solid;}
.geoplan-legend .geoplan-swatch-point {width: 11px; height: 11px; border-radius: 50%; margin: 0 2px;}
.geoplan-legend .geoplan-swatch-hatch {background-image: repeating-linear-gradient(45deg, rgba(0,0,0,0.55) 0 1.5px,
  transparent 1.5px 4px);}
.geoplan-label {background: none; border: none;}
.geoplan-label span {display: inline-block; transform: translate(-50%, -50%); white-space: nowrap;
  font: 600 12px FONTS; color: #1a1a1a; pointer-events: none;
  text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff, 0 0 3px #fff;}
.geoplan-search {background: rgba(255,255,255,0.95); padding: 4px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: 13px FONTS;}
.geoplan-search input {width: 190px; font: 13px FONTS; padding: 3px 5px; border: 1px solid #999; border-radius: 3px;}
.geoplan-search .geoplan-search-note {color: #b2182b; font-size: 12px; padding: 2px 2px 0;}
.leaflet-control-layers, .leaflet-tooltip {font-family: FONTS;}
.leaflet-control-layers-group-name {display: block; margin-top: 4px; border-bottom: 1px solid #ddd;}
""".replace("FONTS", CJK_FONT_STACK)


def legend_html(layers: Sequence[MapLayer]) -> list[str]:
    """Return one HTML legend section per layer (empty string when it has no rows).

    A layer whose only row repeats its name gets no heading (the row says it).

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
        own_row = len(rows) == 1 and rows[0].label == layer.name
        sections.append(body if own_row else f"<h4>{html.escape(layer.name)}</h4>{body}")
    return sections


def _swatch(layer: MapLayer, stroke: str, colour: str) -> str:
    if layer.kind == "line":
        style = f"border-top-color:{colour};"
        if layer.dash:
            style += "border-top-style:dashed;"
        return f'<i class="geoplan-swatch geoplan-swatch-line" style="{style}"></i>'
    border = stroke if (layer.kind == "polygon" and layer.weight > 0 and stroke != "#ffffff") else colour
    alpha = layer.fill_opacity if layer.hatch else max(layer.fill_opacity, 0.35)
    cls = "geoplan-swatch-point" if layer.kind == "point" else ("geoplan-swatch-hatch" if layer.hatch else "")
    line = "dashed" if layer.hatch or layer.dash else "solid"
    return (
        f'<i class="geoplan-swatch {cls}" style="background-color:{_rgba(colour, alpha)};'
        f'border:{1.5 if layer.hatch else 1}px {line} {border};"></i>'
    )


def _rgba(colour: str, alpha: float) -> str:
    r, g, b = (int(colour[k:k + 2], 16) for k in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha:.2f})"


def label_data(layers: Sequence[MapLayer]) -> list[list[list[Any]]]:
    """Per layer, ``[[lat, lon, text], ...]`` of its labels, largest feature first (empty without ``label_field``)."""
    out = []
    for layer in layers:
        pts = layer.label_points()
        if pts.empty:
            out.append([])
            continue
        pts = pts.to_crs(4326).sort_values("size", ascending=False, kind="stable")
        out.append([[round(float(p.y), COORD_DECIMALS), round(float(p.x), COORD_DECIMALS), str(t)]
                    for p, t in zip(pts.geometry, pts["label"], strict=True)])
    return out


def search_data(layers: Sequence[MapLayer]) -> list[list[Any]]:
    """``[[name, lat, lon, south, west, north, east], ...]``: the features of searchable layers, by label."""
    out: dict[str, list[Any]] = {}
    for layer in layers:
        if not layer.searchable or layer.label_field is None:
            continue
        pts = layer.label_points().to_crs(4326)
        g = layer.gdf[~(layer.gdf.geometry.isna() | layer.gdf.geometry.is_empty)]
        g = g[g[layer.label_field].notna()].to_crs(4326)
        bounds = {}
        for name, geom in zip(g[layer.label_field].astype(str), g.geometry, strict=True):
            b = geom.bounds
            old = bounds.get(name, b)
            bounds[name] = (min(b[0], old[0]), min(b[1], old[1]), max(b[2], old[2]), max(b[3], old[3]))
        for p, name in zip(pts.geometry, pts["label"], strict=True):
            if name in out or name not in bounds:
                continue
            w, s, e, n = bounds[name]
            out[name] = [name, round(float(p.y), COORD_DECIMALS), round(float(p.x), COORD_DECIMALS),
                         round(s, COORD_DECIMALS), round(w, COORD_DECIMALS), round(n, COORD_DECIMALS),
                         round(e, COORD_DECIMALS)]
    return sorted(out.values(), key=lambda r: r[0])


class _MapChrome(MacroElement):
    """Title box, legend control (synced with the layer control), labels, unit search and attribution."""

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
            {%- if this.attribution %}
            map.attributionControl.addAttribution({{ this.attribution|tojson }});
            {%- endif %}
            var layers = [{% for name in this.layer_names %}{{ name }}{% if not loop.last %}, {% endif %}{% endfor %}];
            var toggle = document.querySelector(".leaflet-control-layers-toggle");
            if (toggle) { toggle.title = {{ this.words.layers|tojson }}; }

            // Permanent labels (unit names), shown while their layer is on.
            var labels = {{ this.labels|tojson }};
            var labelGroups = labels.map(function (rows) {
                if (!rows.length) { return null; }
                return L.layerGroup(rows.map(function (r) {
                    var span = document.createElement("span");
                    span.textContent = r[2];
                    return L.marker([r[0], r[1]], {interactive: false, keyboard: false,
                        icon: L.divIcon({className: "geoplan-label", html: span.outerHTML, iconSize: null})});
                }));
            });
            function syncLabels() {
                layers.forEach(function (layer, i) {
                    var g = labelGroups[i];
                    if (!g) { return; }
                    if (map.hasLayer(layer) && !map.hasLayer(g)) { g.addTo(map); }
                    if (!map.hasLayer(layer) && map.hasLayer(g)) { map.removeLayer(g); }
                });
                declutter();
            }
            function declutter() {
                // Labels are listed largest feature first: one that would overlap a label already shown waits
                // for a closer zoom.
                var shown = [];
                labelGroups.forEach(function (g) {
                    if (!g || !map.hasLayer(g)) { return; }
                    g.eachLayer(function (marker) {
                        var el = marker.getElement();
                        if (!el) { return; }
                        var span = el.firstChild;
                        span.style.visibility = "";
                        var r = span.getBoundingClientRect();
                        var clash = shown.some(function (o) {
                            return r.left < o.right + 2 && r.right > o.left - 2 && r.top < o.bottom && r.bottom > o.top;
                        });
                        if (clash) { span.style.visibility = "hidden"; } else { shown.push(r); }
                    });
                });
            }
            map.on("zoomend moveend", declutter);

            // A search box listing the units by name: choosing one zooms to it.
            var units = {{ this.search|tojson }};
            if (units.length) {
                var search = L.control({position: "topleft"});
                search.onAdd = function () {
                    var div = L.DomUtil.create("div", "geoplan-search");
                    var id = "geoplan-units-" + Math.random().toString(36).slice(2);
                    var input = L.DomUtil.create("input", "", div);
                    input.type = "search";
                    input.setAttribute("list", id);
                    input.setAttribute("aria-label", {{ this.words.search|tojson }});
                    input.placeholder = {{ this.words.placeholder|tojson }};
                    var list = L.DomUtil.create("datalist", "", div);
                    list.id = id;
                    units.forEach(function (u) {
                        var o = document.createElement("option");
                        o.value = u[0];
                        list.appendChild(o);
                    });
                    var note = L.DomUtil.create("div", "geoplan-search-note", div);
                    note.style.display = "none";
                    note.textContent = {{ this.words.none|tojson }};
                    function find(q) {
                        q = q.trim().toLowerCase();
                        if (!q) { return null; }
                        var exact = units.filter(function (u) { return u[0].toLowerCase() === q; });
                        if (exact.length) { return exact[0]; }
                        var part = units.filter(function (u) { return u[0].toLowerCase().indexOf(q) >= 0; });
                        return part.length ? part[0] : null;
                    }
                    function go() {
                        var u = find(input.value);
                        note.style.display = u || !input.value.trim() ? "none" : "";
                        if (!u) { return; }
                        map.fitBounds([[u[3], u[4]], [u[5], u[6]]], {padding: [30, 30], maxZoom: 17});
                        var name = document.createElement("b");
                        name.textContent = u[0];
                        L.popup({autoPan: false}).setLatLng([u[1], u[2]]).setContent(name).openOn(map);
                    }
                    L.DomEvent.on(input, "change", go);
                    L.DomEvent.on(input, "keydown", function (e) { if (e.key === "Enter") { go(); } });
                    L.DomEvent.disableClickPropagation(div);
                    L.DomEvent.disableScrollPropagation(div);
                    return div;
                };
                search.addTo(map);
            }
            map.whenReady(function () { setTimeout(placeTitle, 0); });
            map.on("resize", placeTitle);

            var sections = {{ this.sections|tojson }};
            var parts = [];
            var legend = null;
            if (sections.some(function (s) { return s.length > 0; })) {
                legend = L.control({position: "bottomright"});
                legend.onAdd = function () {
                    var div = L.DomUtil.create("div", "geoplan-legend");
                    div.setAttribute("role", "region");
                    div.setAttribute("aria-label", {{ this.words.legend|tojson }});
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
            }
            function fitLegend() {
                // Keep the legend clear of the top-right controls; it scrolls only when it cannot fit.
                if (!legend) { return; }
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
                    if (parts[i]) { parts[i].style.display = sections[i] && map.hasLayer(layer) ? "" : "none"; }
                });
                syncLabels();
            }
            map.on("overlayadd overlayremove layeradd layerremove", function (e) {
                if (layers.indexOf(e.layer) >= 0 || e.type.indexOf("overlay") === 0) { sync(); }
            });
            map.whenReady(sync);
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
        lang: str = "zh",
    ) -> None:
        super().__init__()
        self._name = "GeoplanMapChrome"
        self.css = _CHROME_CSS + (".leaflet-container {background: #f7f7f4;}" if light else "")
        self.title = title
        self.attribution = html.escape(attribution) if attribution else None
        self.layer_names = [g.get_name() for g in geojsons]
        self.sections = legend_html(layers)
        self.labels = label_data(layers)
        self.search = search_data(layers)
        self.words = {k: _text(f"maps.{key}", lang) for k, key in (
            ("search", "search"), ("placeholder", "search_placeholder"), ("none", "search_none"),
            ("layers", "layers"), ("legend", "legend"))}
