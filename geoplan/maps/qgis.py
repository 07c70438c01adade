"""QGIS styles from :class:`~geoplan.maps.layers.MapLayer`: QML documents and a GeoPackage's ``layer_styles`` table.

QGIS opens a GeoPackage layer with the style of its ``layer_styles`` row whose
``useAsDefault`` is true, so a planner who opens ``geoplan.gpkg`` sees the
classes and colours of the print maps without loading anything::

    styles = [LayerStyle("parks", qml_document(parks_layer, attr="tier"), "geoplan", "parks by tier")]
    write_layer_styles("geoplan.gpkg", styles)

The QML is the one QGIS 3 reads and writes (``renderer-v2`` single symbol,
categorised or graduated, simple fill / line / marker symbol layers, simple
labels); the table has the columns QGIS creates for it (f_table_catalog,
f_table_schema, f_table_name, f_geometry_column, styleName, styleQML,
styleSLD, useAsDefault, description, owner, ui, update_time).
"""

from __future__ import annotations

import datetime as _dt
import math
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.colors import to_rgba

from geoplan.errors import DataError
from geoplan.maps.layers import MISSING_COLOR, MapLayer

__all__ = ["LAYER_STYLES_SQL", "LayerStyle", "qml_document", "read_layer_styles", "write_layer_styles"]

#: Millimetres per CSS pixel (the maps' line widths are in pixels; QGIS symbols in millimetres).
MM_PER_PX = 25.4 / 96
#: QGIS version written into the QML (any QGIS 3 reads it).
QGIS_VERSION = "3.22.0"
#: The table QGIS itself creates to keep styles in a GeoPackage.
LAYER_STYLES_SQL = """CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  f_table_catalog TEXT(256),
  f_table_schema TEXT(256),
  f_table_name TEXT(256),
  f_geometry_column TEXT(256),
  styleName TEXT(30),
  styleQML TEXT,
  styleSLD TEXT,
  useAsDefault BOOLEAN,
  description TEXT,
  owner TEXT(30),
  ui TEXT(30),
  update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
)"""
#: Matplotlib hatch -> QGIS simple-fill brush style.
HATCH_STYLE = {"/": "b_diagonal", "\\": "f_diagonal", "x": "diagonal_x", "+": "cross", "-": "horizontal", "|": "vertical"}
_GEOMETRY_TYPE = {"point": "0", "line": "1", "polygon": "2"}
_SYMBOL_TYPE = {"point": "marker", "line": "line", "polygon": "fill"}


@dataclass(frozen=True)
class LayerStyle:
    """One row of ``layer_styles``: the default style of a GeoPackage layer.

    Attributes
    ----------
    table : str
        The GeoPackage layer (``f_table_name``).
    qml : str
        The QML document (:func:`qml_document`).
    name : str
        ``styleName`` (QGIS lists it in the layer's style menu).
    description : str
        What the style shows.
    """

    table: str
    qml: str
    name: str = "geoplan"
    description: str = ""


def qml_document(layer: MapLayer, *, attr: str | None = None, value_scale: float = 1.0,
                 only: tuple[str, Any] | None = None, label_field: str | None = None,
                 font: str = "Noto Sans CJK SC") -> str:
    """The QML of a map layer's symbology: the same classes, colours and widths as its print map.

    Parameters
    ----------
    layer : MapLayer
        The layer as the print map draws it.
    attr : str, optional
        Field (or QGIS expression) holding ``layer.column``'s values in the
        GeoPackage layer, when its name differs there.
    value_scale : float
        Factor from the map's class edges to the GeoPackage's values (0.01
        when the map shows percent and the layer keeps shares).
    only : (field, value), optional
        Draw only features whose ``field`` equals ``value`` (one method's
        blind spots): a categorised renderer with that one category.
    label_field : str, optional
        Field to label features with (default: ``layer.label_field``).
    font : str
        Font family of the labels.

    Returns
    -------
    str
        A QML document (``<qgis>`` root) with renderer and labels.
    """
    root = ET.Element("qgis", version=QGIS_VERSION, styleCategories="Symbology|Labeling")
    kind = layer.kind or "polygon"
    stroke = layer.stroke_color()
    if only is not None:
        field, value = only
        renderer = ET.SubElement(root, "renderer-v2", type="categorizedSymbol", attr=field, symbollevels="0",
                                 forceraster="0", enableorderby="0")
        cats = ET.SubElement(renderer, "categories")
        ET.SubElement(cats, "category", value=str(value), label=layer.name, symbol="0", render="true")
        symbols = ET.SubElement(renderer, "symbols")
        colour = layer.feature_colors()[0] if len(layer.gdf) else layer.base_fill_color()
        symbols.append(_symbol(layer, "0", colour, stroke))
    elif layer.column is None:
        renderer = ET.SubElement(root, "renderer-v2", type="singleSymbol", symbollevels="0", forceraster="0",
                                 enableorderby="0")
        symbols = ET.SubElement(renderer, "symbols")
        colour = layer.base_fill_color() if kind != "line" else stroke
        symbols.append(_symbol(layer, "0", colour, stroke))
    elif layer.is_categorical():
        renderer = ET.SubElement(root, "renderer-v2", type="categorizedSymbol", attr=attr or layer.column,
                                 symbollevels="0", forceraster="0", enableorderby="0")
        cats = ET.SubElement(renderer, "categories")
        symbols = ET.SubElement(renderer, "symbols")
        labels = {k: str(v) for k, v in (layer.category_labels or {}).items()}
        for i, (value, colour) in enumerate(layer._category_colors().items()):
            ET.SubElement(cats, "category", value=_value_text(value), label=labels.get(value, str(value)),
                          symbol=str(i), render="true")
            symbols.append(_symbol(layer, str(i), colour, stroke))
        if layer.missing_label is not None:
            n = len(cats)
            ET.SubElement(cats, "category", value="", label=layer.missing_label, symbol=str(n), render="true")
            symbols.append(_symbol(layer, str(n), MISSING_COLOR, stroke))
    else:
        renderer = ET.SubElement(root, "renderer-v2", type="graduatedSymbol", attr=attr or layer.column,
                                 graduatedMethod="GraduatedColor", symbollevels="0", forceraster="0",
                                 enableorderby="0")
        ranges = ET.SubElement(renderer, "ranges")
        symbols = ET.SubElement(renderer, "symbols")
        edges, colours = layer._numeric_classes()
        entries = layer.legend_entries()
        for i, (lo, hi, colour) in enumerate(zip(edges[:-1], edges[1:], colours, strict=True)):
            ET.SubElement(ranges, "range", lower=_num(lo * value_scale), upper=_num(hi * value_scale),
                          label=entries[i].label if i < len(entries) else f"{lo:g} - {hi:g}", symbol=str(i),
                          render="true")
            symbols.append(_symbol(layer, str(i), colour, stroke))
        ET.SubElement(renderer, "mode", name="manual")
    field = label_field or layer.label_field
    if field:
        root.append(_labeling(field, font, kind))
    ET.SubElement(root, "layerGeometryType").text = _GEOMETRY_TYPE[kind]
    body = ET.tostring(root, encoding="unicode")
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + body + "\n"


def _symbol(layer: MapLayer, name: str, colour: str, stroke: str) -> ET.Element:
    kind = layer.kind or "polygon"
    symbol = ET.Element("symbol", type=_SYMBOL_TYPE[kind], name=name, alpha="1", clip_to_extent="1", force_rhr="0")
    width = _num(max(layer.weight, 0.0) * MM_PER_PX)
    if kind == "polygon":
        if layer.hatch:  # hatch lines in the stroke colour (as on the print map), over the fill
            fill = layer.fill_opacity
            if fill > 0:
                _symbol_layer(symbol, "SimpleFill", {"color": _rgba(colour, fill), "style": "solid",
                                                     "outline_style": "no"})
            props = {"color": _rgba(stroke, layer.opacity), "style": _hatch(layer.hatch),
                     "outline_color": _rgba(stroke, layer.opacity), "outline_width": width,
                     "outline_width_unit": "MM", "outline_style": _dash(layer.dash) if layer.weight > 0 else "no"}
        else:
            edge = stroke  # as the print map: polygons take the layer's stroke (white between classes)
            props = {"color": _rgba(colour, layer.fill_opacity), "style": "solid" if layer.fill_opacity > 0 else "no",
                     "outline_color": _rgba(edge, layer.opacity), "outline_width": width, "outline_width_unit": "MM",
                     "outline_style": _dash(layer.dash) if layer.weight > 0 else "no"}
        _symbol_layer(symbol, "SimpleFill", props)
    elif kind == "line":
        props = {"line_color": _rgba(colour, layer.opacity), "line_width": width, "line_width_unit": "MM",
                 "line_style": "solid", "capstyle": "round", "joinstyle": "round"}
        if layer.dash:
            props.update(use_custom_dash="1", customdash=";".join(_num(float(x) * MM_PER_PX)
                                                                  for x in layer.dash.replace(",", " ").split()),
                         customdash_unit="MM")
        _symbol_layer(symbol, "SimpleLine", props)
    else:
        radius = layer.radius_px if layer.radius_m is None else None
        edge = stroke if layer.color else colour
        props = {"name": "circle", "color": _rgba(colour, layer.fill_opacity),
                 "outline_color": _rgba(edge, layer.opacity), "outline_width": width, "outline_width_unit": "MM",
                 "outline_style": "solid"}
        if radius is not None:
            props.update(size=_num(2 * radius * MM_PER_PX), size_unit="MM")
        else:
            props.update(size=_num(2 * float(layer.radius_m)), size_unit="MapUnit")
        _symbol_layer(symbol, "SimpleMarker", props)
    return symbol


def _symbol_layer(symbol: ET.Element, cls: str, props: Mapping[str, Any]) -> None:
    sl = ET.SubElement(symbol, "layer", {"class": cls, "enabled": "1", "locked": "0", "pass": "0"})
    option = ET.SubElement(sl, "Option", type="Map")
    for k, v in props.items():  # QGIS >= 3.26 reads the Option map, older QGIS 3 the prop elements
        ET.SubElement(option, "Option", name=k, value=str(v), type="QString")
    for k, v in props.items():
        ET.SubElement(sl, "prop", k=k, v=str(v))


def _labeling(field: str, font: str, kind: str) -> ET.Element:
    labeling = ET.Element("labeling", type="simple")
    settings = ET.SubElement(labeling, "settings", calloutType="simple")
    style = ET.SubElement(settings, "text-style", fieldName=field, isExpression="0", fontFamily=font,
                          fontSize="9", fontSizeUnit="Point", fontWeight="75", textColor="26,26,26,255",
                          textOpacity="1", multilineHeight="1.1", namedStyle="Bold")
    ET.SubElement(style, "text-buffer", bufferDraw="1", bufferSize="0.8", bufferSizeUnits="MM",
                  bufferColor="255,255,255,255", bufferOpacity="1", bufferJoinStyle="128")
    ET.SubElement(settings, "text-format", multilineAlign="1", wrapChar="")
    # polygons: horizontal label over the inside point; points: around; lines: along
    placement = {"polygon": "1", "point": "0", "line": "2"}[kind]
    ET.SubElement(settings, "placement", placement=placement, centroidInside="1", centroidWhole="0",
                  fitInPolygonOnly="0", priority="5")
    ET.SubElement(settings, "rendering", obstacle="1", displayAll="0", upsidedownLabels="0", labelPerPart="0",
                  mergeLines="0", drawLabels="1", fontLimitPixelSize="0", scaleVisibility="0")
    return labeling


def _rgba(colour: str, alpha: float) -> str:
    r, g, b, _ = to_rgba(colour)
    return f"{round(r * 255)},{round(g * 255)},{round(b * 255)},{round(max(0.0, min(1.0, alpha)) * 255)}"


def _hatch(hatch: str) -> str:
    for ch in hatch:
        if ch in HATCH_STYLE:
            return HATCH_STYLE[ch]
    return "b_diagonal"


def _dash(dash: str | None) -> str:
    return "dash" if dash else "solid"


def _num(x: float) -> str:
    if not math.isfinite(x):
        return "0"
    return f"{x:.6g}"


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# ------------------------------------------------------------- layer_styles
def write_layer_styles(gpkg: str | Path, styles: Sequence[LayerStyle], *, owner: str = "geoplan") -> int:
    """Write ``styles`` into the GeoPackage's ``layer_styles`` table as each layer's default style.

    The table is created as QGIS creates it and registered in
    ``gpkg_contents`` (as attributes), so GDAL and QGIS list it; a layer's
    earlier default style is replaced.

    Parameters
    ----------
    gpkg : path
        An existing GeoPackage.
    styles : sequence of LayerStyle
        One per layer to style; layers not in the GeoPackage are skipped.
    owner : str
        ``owner`` column.

    Returns
    -------
    int
        Rows written.

    Raises
    ------
    DataError
        The file is not a GeoPackage.
    """
    path = Path(gpkg)
    if not path.is_file():
        raise DataError(f"{path}: no such GeoPackage.")
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    con = sqlite3.connect(path)
    try:
        try:
            geometry = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        except sqlite3.DatabaseError as exc:
            raise DataError(f"{path} is not a GeoPackage ({exc}).") from exc
        con.execute(LAYER_STYLES_SQL)
        con.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                    "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles', ?)", (now,))
        written = 0
        for style in styles:
            if style.table not in geometry:
                continue
            con.execute("DELETE FROM layer_styles WHERE f_table_name = ? AND styleName = ?", (style.table, style.name))
            con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (style.table,))
            con.execute(
                "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
                "styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, ?, NULL, ?)",
                (style.table, geometry[style.table], style.name, style.qml, style.description, owner, now))
            written += 1
        con.commit()
    finally:
        con.close()
    return written


def read_layer_styles(gpkg: str | Path) -> dict[str, dict[str, Any]]:
    """The default style of each layer of a GeoPackage: ``{table: row as a dict}`` (empty without a table)."""
    con = sqlite3.connect(Path(gpkg))
    try:
        con.row_factory = sqlite3.Row
        have = con.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'layer_styles'").fetchall()
        if not have:
            return {}
        rows = con.execute("SELECT * FROM layer_styles WHERE useAsDefault ORDER BY id").fetchall()
        return {r["f_table_name"]: dict(r) for r in rows}
    finally:
        con.close()
