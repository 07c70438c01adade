"""Maps and the HTML report of an audit folder."""

from __future__ import annotations

import html
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from .i18n import label

__all__ = ["write_maps_and_report", "audit_map_layers", "basemap_layers"]


def basemap_layers(result: Any) -> list:
    """Light basemap from the OSM data of the audit (streets, buildings) for offline maps."""
    from .maps.layers import osm_basemap_layers

    st = result.study
    return osm_basemap_layers(streets=st.network.edges[["geometry"]], buildings=st.buildings[["geometry"]] if len(st.buildings) else None)


def audit_map_layers(result: Any, lang: str) -> list:
    """All map layers of an audit: park coverage, then each extra analysis."""
    from .parks.maplayers import park_map_layers

    layers = park_map_layers(result.parks, result.study.units, lang)
    if len(result.siting):
        from .maps.layers import MapLayer

        s = result.siting.copy()
        s["new_residents"] = s["new_residents"].round(0)
        layers.append(MapLayer(s, label("pocket_parks", lang), kind="polygon", color="#6a3d9a", fill_color="#cab2d6",
                               fill_opacity=0.8, weight=2,
                               tooltip=[("step", label("step", lang)), ("area_m2", label("area_m2", lang)),
                                        ("new_residents", label("new_residents", lang))]))
    for a in result.analyses.values():
        if hasattr(a, "map_layers"):
            layers.extend(a.map_layers(lang))
    return layers


def write_maps_and_report(result: Any, folder: Path, lang: str, *, tables: dict, summary: dict) -> None:
    """Write ``map.html`` (offline interactive map), print maps and ``index.html`` into ``folder``."""
    from .maps import interactive_map, save_map, static_map

    title = f"{label('park_coverage', lang)} · {result.config.rules.text(lang)}"
    layers = audit_map_layers(result, lang)
    base = basemap_layers(result)
    m = interactive_map(layers, title=title, basemap="osm-data", basemap_layers=base)
    save_map(m, folder / "map.html")
    (folder / "maps").mkdir(exist_ok=True)
    from .parks.maplayers import park_map_layers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        print_layers = park_map_layers(result.parks, result.study.units, lang, for_print=True)
        static_map(print_layers, folder / "maps" / "park_coverage_A4.png", title=title, paper="A4", lang=lang, basemap_layers=base)
        static_map(print_layers, folder / "maps" / "park_coverage_A3.pdf", title=title, paper="A3", lang=lang, basemap_layers=base)
    _write_index(result, folder, lang, summary)


def _write_index(result: Any, folder: Path, lang: str, summary: dict) -> None:
    L = lambda k: label(k, lang)  # noqa: E731
    ov = result.parks.overall
    ov = ov[ov["tier"] == "all"][["scope", "method", "land_pct", "residents_pct"]].copy()
    ov["scope"] = ov["scope"].map(L)
    ov["method"] = ov["method"].map(L)
    ov.columns = [L(c) for c in ov.columns]
    targets = pd.DataFrame(summary.get("targets", []))
    rows = ""
    for t in summary.get("targets", []):
        ok = {True: L("met"), False: L("not_met"), None: "—"}[t.get("met")]
        lab = (t.get("label") or {}).get(lang) or t.get("indicator")
        val = "—" if t.get("measured") is None else f"{t['measured']:.2f} %"
        rows += f"<tr><td>{html.escape(str(lab))}</td><td>{t['value']} %</td><td>{val}</td><td>{ok}</td></tr>"
    doc = f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{html.escape(L('park_coverage'))}</title>
<style>body{{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2em;max-width:1100px}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px}}th{{background:#2e7d32;color:#fff}}</style></head><body>
<h1>{html.escape(L('park_coverage'))}</h1><p>{html.escape(result.config.rules.text(lang))}</p>
<h2>{L('target')}</h2><table><tr><th>{L('target')}</th><th>{L('value')}</th><th>{L('value')}</th><th></th></tr>{rows}</table>
<h2>{L('park_coverage')}</h2>{ov.to_html(index=False, float_format=lambda v: f'{v:.2f}')}
<p><a href="map.html">map.html</a> · <a href="audit.xlsx">audit.xlsx</a> · <a href="geoplan.gpkg">geoplan.gpkg</a></p>
<img src="maps/park_coverage_A4.png" style="max-width:100%">
<p>© OpenStreetMap contributors</p></body></html>"""
    (folder / "index.html").write_text(doc, encoding="utf-8")
