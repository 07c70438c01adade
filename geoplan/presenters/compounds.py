"""How the compound result is shown: compounds and gates, the cells whose coverage walls change, the headline."""

from __future__ import annotations

import numpy as np

from ..compounds.result import CompoundResult
from ..i18n import text
from ..maps.layers import MapLayer
from ..maps.palettes import GAINED, LOST

__all__ = ["headline", "map_layers"]


def headline(res: CompoundResult, lang: str = "en") -> str:
    """One line for the command line."""
    a, b = res.coverage_pair()
    n_un = int((res.compounds.polygons["n_gates"] == 0).sum())
    n = len(res.compounds.polygons)
    cp = res.complete_pair()
    s = text("compounds.headline", lang, n=n, ungated=n_un, before=a, after=b)
    if cp:
        s += text("compounds.headline_lifecircle", lang, before=cp[0], after=cp[1])
    return s


def map_layers(res: CompoundResult, lang: str = "en") -> list:
    """Compounds (gated / without gates), gates, connectors and the cells whose coverage walls change."""
    layers = []
    p = res.compounds.polygons.copy()
    if len(p):
        p["status"] = np.where(p["n_gates"] > 0, "gated", "ungated")
        p["name"] = p["name"].fillna("").astype(str)
        layers.append(MapLayer(p[["compound_id", "name", "kind", "n_gates", "status", "geometry"]],
                               text("compounds.walled_compounds", lang), kind="polygon", column="status",
                               color="#54278f", categories={"gated": "#9e9ac8", "ungated": "#e7298a"},
                               category_labels={"gated": text("compounds.with_gates", lang),
                                                "ungated": text("compounds.ungated", lang)},
                               fill_opacity=0.15, weight=1.5, dash="6 3",
                               tooltip=[("name", text("compounds.name", lang)), ("kind", text("compounds.kind", lang)),
                                        ("n_gates", text("compounds.gates", lang))]))
    g = res.compounds.gates.drop_duplicates("gate_id")
    if len(g):
        colours = {"gate": "#54278f", "passage": "#807dba", "entrance": "#756bb1", "crossing": "#bcbddc", "user": "#3f007d",
                   "proposed": "#e6550d"}
        present = [k for k in colours if k in set(g["kind"])]
        layers.append(MapLayer(g[["gate_id", "kind", "geometry"]], text("compounds.compound_gates", lang), kind="point",
                               column="kind", categories={k: colours[k] for k in present},
                               category_labels={k: text(f"compounds.gate_kind_{k}", lang) for k in present},
                               radius_px=3.5, tooltip=[("gate_id", text("compounds.gate", lang)), ("kind", text("compounds.kind", lang))]))
    c = res.cells
    ch = c[c["change"] != "same"]
    if len(ch):
        d = ch[["unit_name", "change", "residents", "geometry"]].dissolve(by=["unit_name", "change"], aggfunc={"residents": "sum"}).reset_index()
        d["residents"] = d["residents"].round(0)
        layers.append(MapLayer(d, text("compounds.changed_by_walls", lang), kind="polygon", column="change",
                               categories={"lost": LOST, "gained": GAINED},
                               category_labels={"lost": text("compounds.lost", lang),
                                                "gained": text("compounds.gained", lang)},
                               fill_opacity=0.7, weight=0.5,
                               tooltip=[("unit_name", text("compounds.unit", lang)), ("residents", text("compounds.residents", lang))]))
    return layers
