"""Map layers of the life-circle analysis, in Chinese or English.

Drawn bottom to top: completeness choropleth per unit, isochrone bands, gap
layers per category (hidden at start), homes coloured by completeness with a
tooltip listing what each misses, facilities by category, planned facilities.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np

__all__ = ["TEXT", "lifecircle_map_layers"]

TEXT = {
    "choropleth": {"en": "Complete {lv} circle (% of residents)", "zh": "{lv}完整率（居民%）"},
    "homes": {"en": "Homes: share of {lv} categories reached", "zh": "住宅：{lv}设施达标比例"},
    "gap": {"en": "Gap: {cat} (beyond {m:g} m)", "zh": "缺口：{cat}（超过{m:g}米）"},
    "iso": {"en": "Walking areas (isochrones)", "zh": "步行等时圈"},
    "iso_band": {"en": "{m:g} min ({d:g} m)", "zh": "{m:g}分钟（{d:g}米）"},
    "facilities": {"en": "Facilities by category", "zh": "设施（按类别）"},
    "planned": {"en": "Planned facilities", "zh": "规划设施"},
    "gained": {"en": "Homes gaining a complete {lv} circle", "zh": "新增{lv}完整的住宅"},
    "unit": {"en": "Unit", "zh": "单元"},
    "residents": {"en": "Residents", "zh": "居民"},
    "missing": {"en": "Missing within {lv}", "zh": "{lv}内缺少"},
    "complete": {"en": "Complete", "zh": "完整"},
    "score": {"en": "Share reached", "zh": "达标比例"},
    "name": {"en": "Name", "zh": "名称"},
    "category": {"en": "Category", "zh": "类别"},
    "source": {"en": "Source", "zh": "来源"},
    "dist": {"en": "Distance (m)", "zh": "距离（米）"},
    "most_missing": {"en": "Most often missing", "zh": "最常缺少"},
    "none": {"en": "none", "zh": "无"},
    "e2sfca": {"en": "Supply per {per:g} residents (E2SFCA)", "zh": "每{per:g}居民供给（E2SFCA）"},
}

#: Colours of facility categories (cycled when a preset has more).
CATEGORY_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                    "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
BAND_COLOURS = ("#006d2c", "#31a354", "#74c476", "#bae4b3", "#edf8e9")


def _t(key: str, lang: str, **kw: Any) -> str:
    d = TEXT[key]
    return (d.get(lang) or d["en"]).format(**kw)


def lifecircle_map_layers(res: Any, lang: str = "en") -> list:
    """Build the :class:`~geoplan.maps.layers.MapLayer` list of a :class:`LifeCircleResult`."""
    from ..maps.layers import MapLayer

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
            ug, _t("choropleth", lang, lv=lv_text), kind="polygon", column=col, cmap="RdYlGn",
            bins=[0, 20, 40, 60, 80, 100], value_format="{:.0f}%", fill_opacity=0.45,
            tooltip=[("unit_name", _t("unit", lang)), (col, _t("complete", lang) + " %"),
                     ("residents", _t("residents", lang)), ("most_missing_label", _t("most_missing", lang))]))

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
                ig.sort_values("minutes", ascending=False), _t("iso", lang), kind="polygon", column="minutes",
                categories=cats, category_labels={m: _t("iso_band", lang, m=m, d=dist[m]) for m in bands},
                fill_opacity=0.15, weight=0.8,
                tooltip=[("label", _t("name", lang)), ("minutes", "min"), ("residents", _t("residents", lang))]))

    # gap layers per required category (own level)
    gaps = res.gaps()
    for i, cid in enumerate(rules.required_ids):
        g = gaps[gaps["category"] == cid] if len(gaps) else gaps
        if len(g) == 0:
            continue
        g = g[["unit_name", "residents", "dist_m", "geometry"]]
        layers.append(MapLayer(
            g, _t("gap", lang, cat=label[cid], m=rules.threshold(cid)), kind="point", color="#d62728",
            radius_px=3.5, show=False,
            tooltip=[("unit_name", _t("unit", lang)), ("residents", _t("residents", lang)), ("dist_m", _t("dist", lang))]))

    # homes coloured by the share of the largest circle reached; tooltip lists what is missing
    o = res.origins
    if len(o):
        miss = o[f"missing:{top.id}"].astype(str).map(
            lambda s: "; ".join(label.get(c.strip(), c.strip()) for c in s.split(",") if c.strip()) or _t("none", lang))
        hg = gpd.GeoDataFrame({"unit_name": o["unit_name"].to_numpy(), "residents": np.round(o["residents"].to_numpy(float), 1),
                               "score": np.round(100 * o[f"score:{top.id}"].to_numpy(float), 0),
                               "missing": miss.to_numpy()}, geometry=o.geometry.values, crs=o.crs)
        layers.append(MapLayer(
            hg, _t("homes", lang, lv=lv_text), kind="point", column="score", cmap="RdYlGn",
            bins=[0, 25, 50, 75, 100], value_format="{:.0f}%", radius_px=3.0,
            tooltip=[("unit_name", _t("unit", lang)), ("residents", _t("residents", lang)),
                     ("score", _t("score", lang) + " %"), ("missing", _t("missing", lang, lv=lv_text))]))
        if "e2sfca" in o:
            per = res.meta.get("e2sfca_per", 1000)
            eg = gpd.GeoDataFrame({"e2sfca": o["e2sfca"].to_numpy(float)}, geometry=o.geometry.values, crs=o.crs)
            layers.append(MapLayer(eg, _t("e2sfca", lang, per=per), kind="point", column="e2sfca", cmap="PuBu",
                                   radius_px=3.0, show=False, tooltip=[("e2sfca", _t("e2sfca", lang, per=per))]))
        gain = f"gain:{top.id}"
        if gain in o and o[gain].any():
            gg = o.loc[o[gain].to_numpy(bool), ["unit_name", "residents", "geometry"]]
            layers.append(MapLayer(gg, _t("gained", lang, lv=lv_text), kind="point", color="#08519c", radius_px=4.0,
                                   tooltip=[("unit_name", _t("unit", lang)), ("residents", _t("residents", lang))]))

    # facilities by category
    f = res.facilities
    if len(f):
        fg = f.drop_duplicates("fac_id")[["category", "name", "source", "geometry"]].copy()
        fg["category_label"] = fg["category"].map(label)
        fg["name"] = fg["name"].fillna("").astype(str)
        present = [c for c in rules.category_ids if c in set(fg["category"])]
        colours = {c: CATEGORY_COLOURS[rules.category_ids.index(c) % len(CATEGORY_COLOURS)] for c in present}
        layers.append(MapLayer(
            fg, _t("facilities", lang), kind="point", column="category", categories=colours,
            category_labels={c: label[c] for c in present}, radius_px=4.5,
            tooltip=[("name", _t("name", lang)), ("category_label", _t("category", lang)), ("source", _t("source", lang))]))
    if res.planned is not None and len(res.planned):
        pg = res.planned[["category", "name", "geometry"]].copy()
        pg["category_label"] = pg["category"].map(label)
        pg["name"] = pg["name"].fillna("").astype(str)
        layers.append(MapLayer(pg, _t("planned", lang), kind="point", color="#000000", fill_color="#ffff33", radius_px=6.0,
                               tooltip=[("name", _t("name", lang)), ("category_label", _t("category", lang))]))
    return layers
