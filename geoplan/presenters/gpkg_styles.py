"""The styles of an audit's GeoPackage: each layer opens in QGIS with the classes and colours of the maps.

The styles are made from the very :class:`~geoplan.maps.layers.MapLayer`
objects the print and interactive maps draw (found by their ``key``), told
where the same values sit in the GeoPackage layer (a field, or a QGIS
expression over its fields), and written into the GeoPackage's
``layer_styles`` table (:func:`geoplan.maps.qgis.write_layer_styles`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import GeoplanWarning
from ..maps.layers import MapLayer
from ..maps.qgis import LayerStyle, qml_document, write_layer_styles
from . import map_layers as analysis_map_layers
from .parks import park_map_layers

__all__ = ["GPKG_STYLES", "GpkgStyle", "audit_layer_styles", "write_audit_styles"]


@dataclass(frozen=True)
class GpkgStyle:
    """Where a map layer's values sit in a GeoPackage layer.

    Attributes
    ----------
    table : str
        The GeoPackage layer.
    attr : str, optional
        Field or QGIS expression giving the map layer's ``column`` values
        (``{method}`` is replaced by ``net`` or ``euc``).
    value_scale : float
        GeoPackage value per map class edge (0.01: the map shows %, the layer shares).
    only : str, optional
        Field whose value must be the drawn method (``network``/``euclidean``).
    label_field : str, optional
        Field to label features with in QGIS.
    """

    table: str
    attr: str | None = None
    value_scale: float = 1.0
    only: str | None = None
    label_field: str | None = None


#: Map layer key -> its GeoPackage layer (for the audit written by :func:`geoplan.outputs.write_audit`).
GPKG_STYLES: dict[str, GpkgStyle] = {
    "units": GpkgStyle("units", attr="{method}_land_pct", label_field="unit_name"),
    "residential_cells": GpkgStyle("residential_cells", attr="if({covered}, 'covered', 'not_covered')"),
    "served_zones": GpkgStyle("served_zones", attr="""if("method" = '{method_name}', "tier", NULL)"""),
    "blind_spots": GpkgStyle("blind_spots", only="method"),
    "parks": GpkgStyle("parks", attr="""coalesce("tier", 'none')"""),
    "park_access_points": GpkgStyle("park_access_points"),
    "lifecircle_units": GpkgStyle("lifecircle_units", label_field="unit_name"),
    "lifecircle_origins": GpkgStyle("lifecircle_origins", attr="score_{level}", value_scale=0.01),
    "lifecircle_facilities": GpkgStyle("lifecircle_facilities"),
    "lifecircle_isochrones": GpkgStyle("lifecircle_isochrones"),
    "fairness_units": GpkgStyle("fairness_units", label_field="unit_name"),
    "greenways_edges": GpkgStyle("greenways_edges", attr="{component_group}"),
    "greenways_links": GpkgStyle("greenways_links"),
    "greenways_parks": GpkgStyle("greenways_parks", attr="""if("linked", 'linked', 'not_linked')"""),
    "quality_grades": GpkgStyle("quality_completeness", label_field="unit_name"),
}


def audit_layer_styles(result: Any, lang: str) -> list[LayerStyle]:
    """The QGIS style of each styled layer of an audit's GeoPackage, from the map layers of the result.

    Parameters
    ----------
    result : AuditResult
    lang : {"zh", "en"}
        Language of the class labels (QGIS shows them in its layer list).
    """
    method = "network" if "network" in result.parks.methods else "euclidean"
    short = "net" if method == "network" else "euc"
    covered = '"net_covered"' if method == "network" else '"euc_cov_m2" >= 0.5 * "area_m2"'
    layers: list[MapLayer] = list(park_map_layers(result.parks, result.study.units, lang))
    for name, a in result.analyses.items():
        try:
            layers += analysis_map_layers(a, lang)
        except Exception as exc:  # noqa: BLE001 - one analysis' styles must not cost the GeoPackage
            warnings.warn(f"{name}: its map layers failed ({exc}); its GeoPackage layers keep QGIS's own style.",
                          GeoplanWarning, stacklevel=2)
    values = {"method": short, "method_name": method, "covered": covered}
    lc = result.analyses.get("lifecircle")
    if lc is not None:
        values["level"] = lc.rules.levels[-1].id
    styles = []
    for layer in layers:
        spec = GPKG_STYLES.get(layer.key or "")
        if spec is None:
            continue
        attr = spec.attr
        if layer.key == "greenways_edges":
            attr = _component_expression(layer)
        elif attr is not None:
            attr = attr.format(**values)
        qml = qml_document(layer, attr=attr, value_scale=spec.value_scale,
                           only=(spec.only, method) if spec.only else None, label_field=spec.label_field)
        styles.append(LayerStyle(spec.table, qml, name="geoplan", description=layer.name))
    return styles


def _component_expression(layer: MapLayer) -> str:
    """QGIS expression of the map's component groups: the largest components by number, the rest 'other'."""
    top = [str(k) for k in (layer.categories or {}) if str(k) != "other"]
    if not top:
        return "'other'"
    return f"""if(to_string("component") IN ({', '.join(repr(t) for t in top)}), to_string("component"), 'other')"""


def write_audit_styles(result: Any, gpkg: Path, lang: str) -> int:
    """Write the audit's styles into ``gpkg``'s ``layer_styles`` table; return the rows written."""
    styles = audit_layer_styles(result, lang)
    return write_layer_styles(gpkg, styles)
