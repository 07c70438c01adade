"""How a what-if is shown and written: the change map, the headline, the output folder."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from ..i18n import text
from ..maps import interactive_map, save_map
from ..maps.layers import MapLayer
from ..maps.palettes import GAINED, LOST
from ..folder import atomic_folder, write_folder
from ..whatif.proposal import WhatIfResult

__all__ = ["headline", "map_layers", "write_whatif"]


def headline(res: WhatIfResult, lang: str = "en") -> str:
    """One line per model."""
    lines = []
    for _, r in res.overall.iterrows():
        lines.append(text("whatif.headline", lang, model=text(f"whatif.model_{r['model']}", lang),
                          residents=r["new_residents"], land_m2=r["new_land_m2"], before=r["residents_pct_before"],
                          after=r["residents_pct_after"]))
    return "\n".join(lines)


def map_layers(res: WhatIfResult, lang: str = "en") -> list:
    """Newly served (and no longer served) residential land, and the proposals."""
    layers = []
    c = res.cells
    if len(c):
        model = "compounds" if (c["model"] == "compounds").any() else "plain"
        d = c[c["model"] == model][["unit_name", "status", "residents", "area_m2", "geometry"]]
        d = d.dissolve(by=["unit_name", "status"], aggfunc={"residents": "sum", "area_m2": "sum"}).reset_index()
        d["residents"] = d["residents"].round(0)
        d["area_m2"] = d["area_m2"].round(0)
        layers.append(MapLayer(d, text("whatif.change", lang), kind="polygon", column="status",
                               categories={"new": GAINED, "lost": LOST},
                               category_labels={"new": text("whatif.newly_served", lang),
                                                "lost": text("whatif.no_longer_served", lang)},
                               fill_opacity=0.7, weight=0.5,
                               tooltip=[("unit_name", text("whatif.unit", lang)), ("residents", text("whatif.residents", lang)),
                                        ("area_m2", text("whatif.area_m", lang))]))
    p = res.proposals.get("parks")
    if p is not None and len(p):
        layers.append(MapLayer(p[["park_id", "tier", "area_m2", "geometry"]].assign(tier=p["tier"].fillna("none")),
                               text("whatif.proposed_parks", lang), kind="polygon", color="#006d2c", fill_color="#74c476",
                               fill_opacity=0.8, weight=2,
                               tooltip=[("tier", text("whatif.tier", lang)), ("area_m2", text("whatif.area_m", lang))]))
    g = res.proposals.get("gates")
    if g is not None and len(g):
        layers.append(MapLayer(g[["gate_id", "compound_id", "geometry"]], text("whatif.proposed_gates", lang), kind="point",
                               color="#a63603", fill_color="#fd8d3c", radius_px=6))
    f = res.proposals.get("facilities")
    if f is not None and len(f):
        layers.append(MapLayer(f[["category", "geometry"]], text("whatif.proposed_facilities", lang), kind="point",
                               color="#08519c", fill_color="#6baed6", radius_px=6,
                               tooltip=[("category", text("whatif.category", lang))]))
    return layers


def write_whatif(res: WhatIfResult, out: str | Path, *, overwrite: bool = False, lang: str = "en", maps: bool = True,
                 units: gpd.GeoDataFrame | None = None) -> Path:
    """Write a what-if's tables (CSV, XLSX), layers (GeoPackage), ``summary.json`` and ``map.html``, atomically.

    Parameters
    ----------
    res : WhatIfResult
    out : path
        Output folder; must not exist unless ``overwrite``.
    overwrite : bool
    lang : {"zh", "en"}
    maps : bool
        Also write ``map.html``.
    units : GeoDataFrame, optional
        Unit outlines drawn under the change.

    Returns
    -------
    Path of the written folder.
    """
    with atomic_folder(out, overwrite=overwrite) as tmp:
        write_folder(tmp, tables=res.tables(), xlsx="whatif.xlsx", summary=res.summary(), layers=res.layers(),
                     gpkg="whatif.gpkg", lang=lang)
        if maps:
            layers = map_layers(res, lang)
            if units is not None and len(units):
                layers.insert(0, MapLayer(units[["unit_name", "geometry"]], text("whatif.units", lang),
                                          kind="polygon", color="#444444", fill_opacity=0.0, weight=1.5,
                                          tooltip=[("unit_name", text("whatif.unit", lang))]))
            if layers:
                save_map(interactive_map(layers, title=text("whatif.title", lang), lang=lang), tmp / "map.html")
    return Path(out).resolve()
