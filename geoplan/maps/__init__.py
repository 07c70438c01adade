"""Maps for planners: interactive offline HTML maps and print-ready static maps.

Build a list of :class:`MapLayer` once and hand it to both renderers::

    from geoplan.maps import MapLayer, interactive_map, save_map, static_map

    layers = [MapLayer(parks, "公园绿地", color="#31a354", tooltip=[("name", "名称")])]
    save_map(interactive_map(layers, title="服务半径覆盖"), "coverage.html")
    static_map(layers, "coverage.pdf", title="服务半径覆盖", paper="A3")

The renderers are imported lazily, so ``import geoplan.maps`` stays cheap.
"""

from __future__ import annotations

from typing import Any

from geoplan.maps.layers import LegendEntry, MapLayer, osm_basemap_layers

__all__ = [
    "LegendEntry",
    "MapLayer",
    "interactive_map",
    "osm_basemap_layers",
    "save_map",
    "static_map",
]

_LAZY = {
    "interactive_map": "geoplan.maps.interactive",
    "save_map": "geoplan.maps.offline",
    "static_map": "geoplan.maps.static",
}


def __getattr__(name: str) -> Any:
    """Import a renderer on first use (folium and matplotlib are slow to import)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'geoplan.maps' has no attribute {name!r}")
