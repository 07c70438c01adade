"""How the life-circle result is shown: map layers, headline, rule-dependent column labels.

Drawn bottom to top: completeness choropleth per unit (labelled with the unit
names), isochrone bands, gap layers per category, homes coloured by
completeness with a tooltip listing what each misses, facilities by category,
planned facilities.  On at first (and on the print map): the choropleth, the
homes and the homes gaining or planned facilities; the rest waits in the layer
control.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from ..i18n import expand_templates, number, text
from ..lifecircle.result import LifeCircleResult
from ..lifecircle.rules import LifeCircleRules
from ..maps.layers import MapLayer
from ..maps.palettes import SCORE_5, VIRIDIS_4

__all__ = ["column_labels", "headline", "map_layers"]

#: Colours of facility categories (cycled when a preset has more).
CATEGORY_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
BAND_COLOURS = ("#006d2c", "#31a354", "#74c476", "#bae4b3", "#edf8e9")


def map_layers(res: LifeCircleResult, lang: str = "en") -> list:
    """Map layers of a :class:`~geoplan.lifecircle.LifeCircleResult`: completeness choropleth per unit,
    isochrone bands, gaps per category (hidden at start), homes by completeness, facilities, planned facilities.
    """
    rules = res.rules
    top = rules.levels[-1]
    lv_text = top.text(lang)
    label = {c.id: c.text(lang) for c in rules.categories}
    layers = []

    # completeness choropleth per unit
    u = res.units
    col = f"complete_{top.id}_pct"
    if len(u) and col in u:
        ug = u[["unit_id", "unit_name", col, "residents", "most_missing", "geometry"]].copy()
        ug["most_missing_label"] = ug["most_missing"].fillna("").map(lambda c: label.get(c, c))
        ug[col] = ug[col].astype(float)
        layers.append(MapLayer(
            ug, text("lifecircle.choropleth", lang, lv=lv_text), kind="polygon", column=col, class_colors=SCORE_5,
            bins=[0, 20, 40, 60, 80, 100], value_format="{:.0f}%", fill_opacity=0.6, color="#444444",
            label_field="unit_name", key="lifecircle_units",
            tooltip=[("unit_name", text("lifecircle.unit", lang)), (col, text("lifecircle.complete", lang) + " %"),
                     ("residents", text("lifecircle.residents", lang)), ("most_missing_label", text("lifecircle.most_missing", lang))]))

    # isochrone bands, largest first
    iso = res.isochrones
    if len(iso):
        ig = iso[["label", "minutes", "distance_m", "area_m2", "residents", "geometry"]].copy()
        ig = ig[~ig.geometry.is_empty]
        bands = sorted(set(ig["minutes"]))
        cats = {m: BAND_COLOURS[i % len(BAND_COLOURS)] for i, m in enumerate(bands)}
        dist = {m: float(ig.loc[ig["minutes"] == m, "distance_m"].iloc[0]) for m in bands}
        if len(ig):
            layers.append(MapLayer(
                ig.sort_values("minutes", ascending=False), text("lifecircle.iso", lang), kind="polygon", column="minutes",
                categories=cats, category_labels={m: text("lifecircle.iso_band", lang, m=m, d=dist[m]) for m in bands},
                fill_opacity=0.15, weight=0.8, show=False, key="lifecircle_isochrones",
                tooltip=[("label", text("lifecircle.name", lang)), ("minutes", "min"), ("residents", text("lifecircle.residents", lang))]))

    # gap layers per required category (own level)
    gaps = res.gaps()
    for i, cid in enumerate(rules.required_ids):
        g = gaps[gaps["category"] == cid] if len(gaps) else gaps
        if len(g) == 0:
            continue
        # rounded as on the homes layer: the tooltip shows residents to 0.1 and metres, the file stays small
        g = g[["unit_name", "residents", "dist_m", "geometry"]].assign(
            residents=lambda d: np.round(d["residents"].to_numpy(float), 1),
            dist_m=lambda d: np.round(d["dist_m"].to_numpy(float), 0))
        layers.append(MapLayer(
            g, text("lifecircle.gap", lang, cat=label[cid], m=rules.threshold(cid)), kind="point", color="#d62728",
            radius_px=3.5, show=False,
            tooltip=[("unit_name", text("lifecircle.unit", lang)), ("residents", text("lifecircle.residents", lang)), ("dist_m", text("lifecircle.dist", lang))]))

    # homes coloured by the share of the largest circle reached; tooltip lists what is missing
    o = res.origins
    if len(o):
        miss = o[f"missing:{top.id}"].astype(str).map(
            lambda s: "; ".join(label.get(c.strip(), c.strip()) for c in s.split(",") if c.strip()) or text("lifecircle.none", lang))
        hg = gpd.GeoDataFrame({"unit_name": o["unit_name"].to_numpy(), "residents": np.round(o["residents"].to_numpy(float), 1),
                               "score": np.round(100 * o[f"score:{top.id}"].to_numpy(float), 0),
                               "missing": miss.to_numpy()}, geometry=o.geometry.values, crs=o.crs)
        layers.append(MapLayer(
            hg, text("lifecircle.homes", lang, lv=lv_text), kind="point", column="score", class_colors=VIRIDIS_4,
            bins=[0, 25, 50, 75, 100], value_format="{:.0f}%", radius_px=3.0, fill_opacity=0.85, key="lifecircle_origins",
            tooltip=[("unit_name", text("lifecircle.unit", lang)), ("residents", text("lifecircle.residents", lang)),
                     ("score", text("lifecircle.score", lang) + " %"), ("missing", text("lifecircle.missing", lang, lv=lv_text))]))
        if "e2sfca" in o:
            per = res.meta.get("e2sfca_per", 1000)
            eg = gpd.GeoDataFrame({"e2sfca": o["e2sfca"].to_numpy(float)}, geometry=o.geometry.values, crs=o.crs)
            layers.append(MapLayer(eg, text("lifecircle.e2sfca", lang, per=per), kind="point", column="e2sfca", cmap="PuBu",
                                   radius_px=3.0, show=False, tooltip=[("e2sfca", text("lifecircle.e2sfca", lang, per=per))]))
        gain = f"gain:{top.id}"
        if gain in o and o[gain].any():
            gg = o.loc[o[gain].to_numpy(bool), ["unit_name", "residents", "geometry"]]
            layers.append(MapLayer(gg, text("lifecircle.gained", lang, lv=lv_text), kind="point", color="#08519c", radius_px=4.0,
                                   tooltip=[("unit_name", text("lifecircle.unit", lang)), ("residents", text("lifecircle.residents", lang))]))

    # facilities by category
    f = res.facilities
    if len(f):
        fg = f.drop_duplicates("fac_id")[["category", "name", "source", "geometry"]].copy()
        fg["category_label"] = fg["category"].map(label)
        fg["name"] = fg["name"].fillna("").astype(str)
        present = [c for c in rules.category_ids if c in set(fg["category"])]
        colours = {c: CATEGORY_COLOURS[rules.category_ids.index(c) % len(CATEGORY_COLOURS)] for c in present}
        layers.append(MapLayer(
            fg, text("lifecircle.facilities", lang), kind="point", column="category", categories=colours,
            category_labels={c: label[c] for c in present}, radius_px=4.5, show=False, key="lifecircle_facilities",
            tooltip=[("name", text("lifecircle.name", lang)), ("category_label", text("lifecircle.category", lang)), ("source", text("lifecircle.source", lang))]))
    if res.planned is not None and len(res.planned):
        pg = res.planned[["category", "name", "geometry"]].copy()
        pg["category_label"] = pg["category"].map(label)
        pg["name"] = pg["name"].fillna("").astype(str)
        layers.append(MapLayer(pg, text("lifecircle.planned", lang), kind="point", color="#000000", fill_color="#ffff33", radius_px=6.0,
                               tooltip=[("name", text("lifecircle.name", lang)), ("category_label", text("lifecircle.category", lang))]))
    return layers


def headline(res: LifeCircleResult, lang: str = "en") -> str:
    """One sentence: share of residents with a complete circle and the most-missing categories."""
    rules = res.rules
    top = rules.levels[-1]
    pct = res.complete_pct()
    sep = text("list_separator", lang)
    # no residents known: every home (or residential cell) counts once, and the sentence says so
    homes = "weight" in res.overall.columns and str(res.overall["weight"].iloc[0]) == "origins"
    item = "lifecircle.headline_missing_item_homes" if homes else "lifecircle.headline_missing_item"
    missing = sep.join(text(item, lang, category=rules.category(c).text(lang), pct=p)
                       for c, p in res.most_missing(3)) or text("lifecircle.none", lang)
    s = text("lifecircle.headline_homes" if homes else "lifecircle.headline", lang,
             pct=number(pct, ".1f", lang), level=top.text(lang), distance_m=top.distance_m, missing=missing)
    absent = res.absent_categories()
    if absent:
        s += text("lifecircle.headline_absent", lang, categories=sep.join(rules.category(c).text(lang) for c in absent),
                  pct=res.complete_pct_mapped())
    return s


def column_labels(rules: LifeCircleRules) -> dict[str, tuple[str, str]]:
    """English and Chinese headers of the columns named after the rules' levels and catchments."""
    items = []
    for lv in rules.levels:
        v = {"id": lv.id, "en": lv.text("en"), "zh": lv.text("zh"), "distance_m": lv.distance_m}
        items += [{"kind": k, **v} for k in ("complete_{id}_pct", "score_{id}_pct", "reached_{id}_pct")]
    for k in rules.catchments:
        items.append({"kind": "catch_{id}_pct", "id": k.id, "en": k.text("en"), "zh": k.text("zh")})
    return expand_templates("lifecircle", items)


def labels(res: LifeCircleResult) -> dict[str, tuple[str, str]]:
    """Column labels that depend on this result's rules."""
    return column_labels(res.rules)
