"""How the greenway result is shown: map layers (by level, by component, gaps, links, reach, parks,
corridor breaks) and the headline.
"""

from __future__ import annotations

import json
import platform
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from .._version import __version__
from ..errors import GeoplanWarning
from ..greenways.result import GreenwayResult
from ..i18n import text
from ..maps import interactive_map, save_map
from ..maps.layers import MapLayer
from ..folder import atomic_folder, write_folder
from ..settings import WarningLog

__all__ = ["COMPONENT_COLOURS", "LEVEL_COLOURS", "headline", "map_layers", "write_greenways"]

LEVEL_COLOURS = {"city": "#1a9850", "district": "#66bd63", "community": "#a6d96a", "unspecified": "#8c8c8c",
                 "proposed": "#d7301f"}
COMPONENT_COLOURS = ("#1f78b4", "#33a02c", "#ff7f00", "#6a3d9a", "#b15928", "#a6cee3", "#b2df8a", "#cab2d6")


def headline(res: GreenwayResult, lang: str = "en") -> str:
    """A few lines for the command line."""
    if res.network is None:
        return text("greenways.headline_none", lang)
    ov = res.indices.iloc[0]
    lines = [text("greenways.headline", lang, km=ov['length_km'], n=int(ov['components']), share=ov['largest_component_share_pct'])]
    if res.joining is not None and len(res.joining.links):
        j = res.joining
        lines.append(text("greenways.headline_links", lang, n=len(j.links), total_m=j.total_m, systems=j.systems_after))
    if res.reach is not None:
        lines.append(text("greenways.headline_reach", lang, walk_m=res.reach.walk_m, pct=res.reach.pct('network', 'residents')))
    for c in res.corridors:
        s = c.summary
        lines.append(text("greenways.headline_corridor", lang, name=c.name, km=s['total_length_m'] / 1000, continuous_km=s['continuous_length_m'] / 1000, share=s['continuous_share_pct'], breaks=s['breaks']))
    return "\n".join(lines)


def map_layers(res: GreenwayResult, lang: str = "en") -> list:
    """Map layers, bottom first: greenways by level (hidden at first) and by component, gaps and
    proposed links, the walk zone, parks linked or not and sized by importance, corridor breaks.
    """
    if res.network is None:
        return []
    gw = res.network
    L: list = []
    e = gw.edges[~gw.edges["artifact"]].copy()
    comps = gw.components
    top = comps["component"].head(len(COMPONENT_COLOURS)).tolist()
    e["component_group"] = e["component"].map(lambda c: str(c) if c in top else "other")
    e["length_m"] = e["length_m"].round(0)
    cats = {str(c): COMPONENT_COLOURS[k] for k, c in enumerate(top)}
    cats["other"] = "#969696"
    km = comps.set_index("component")["length_m"] / 1000
    labs = {str(c): text("greenways.component_km", lang, c=c, km=km[c]) for c in top}
    labs["other"] = text("greenways.smaller_components", lang, n=max(len(comps) - len(top), 0))
    tip = [("name", text("greenways.name", lang)), ("level", text("greenways.level", lang)),
           ("component", text("greenways.component", lang)), ("length_m", text("greenways.length_m", lang))]
    lv = e.copy()
    lv_cats = {k: v for k, v in LEVEL_COLOURS.items() if k in set(lv["level"])}
    for other in sorted(set(lv["level"]) - set(lv_cats)):
        lv_cats[other] = "#636363"
    lv_labels = {"city": text("greenways.city_level", lang), "district": text("greenways.district_level", lang),
                 "community": text("greenways.community_level", lang), "unspecified": text("greenways.level_not_given", lang)}
    L.append(MapLayer(lv, text("greenways.greenways_by_level", lang), kind="line", column="level", categories=lv_cats,
                      category_labels={k: lv_labels.get(k, k) for k in lv_cats}, weight=3.5, show=False, tooltip=tip))
    L.append(MapLayer(e, text("greenways.greenways_by_component", lang), kind="line", column="component_group",
                      categories=cats, category_labels=labs, weight=3.5, tooltip=tip, key="greenways_edges"))
    if len(res.gaps):
        g = res.gaps.copy()
        chosen = set(res.joining.links["gap_id"]) if res.joining is not None else set()
        g = g[~g["gap_id"].isin(chosen)]
        if len(g):
            g["straight_m"] = g["straight_m"].round(0)
            g["walk_m"] = g["walk_m"].round(0)
            L.append(MapLayer(g, text("greenways.gaps_other_joining_walks", lang), kind="line",
                              color="#fd8d3c", weight=2, dash="4 4", show=False,
                              tooltip=[("gap_id", text("greenways.gap", lang)), ("straight_m", text("greenways.straight_m", lang)),
                                       ("walk_m", text("greenways.walk_m", lang)), ("status", text("greenways.status", lang))]))
    if res.joining is not None and len(res.joining.links):
        j = res.joining.links.copy()
        j["walk_m"] = j["walk_m"].round(0)
        j["straight_m"] = j["straight_m"].round(0)
        L.append(MapLayer(j, text("greenways.proposed_joining_links", lang), kind="line", color="#d7301f", weight=4.5,
                          dash="8 5", key="greenways_links", tooltip=[("rank", text("greenways.rank", lang)), ("walk_m", text("greenways.length_m", lang)),
                                               ("straight_m", text("greenways.straight_gap_m", lang)),
                                               ("via", text("greenways.via", lang))]))
    if res.reach is not None:
        z = res.reach.zone[(res.reach.zone["method"] == "network") & ~res.reach.zone.geometry.is_empty]
        if len(z):
            L.append(MapLayer(z, text("greenways.walk_zone", lang, walk_m=res.reach.walk_m),
                              kind="polygon", color="#41ab5d", fill_color="#c7e9c0", fill_opacity=0.25, weight=0.5,
                              show=False, interactive=False))
    if len(res.parks):
        p = res.parks.copy()
        p["status"] = np.where(p["linked"], "linked", "not_linked")
        p["area_m2"] = p["area_m2"].round(0)
        p["gw_distance_m"] = p["gw_distance_m"].round(0)
        L.append(MapLayer(p, text("greenways.parks_linked_to_a_greenway", lang), kind="polygon", column="status",
                          categories={"linked": "#238b45", "not_linked": "#fdae61"},
                          category_labels={"linked": text("greenways.park_linked", lang, m=res.settings['reach']['park_link_m']),
                                           "not_linked": text("greenways.not_linked", lang)},
                          fill_opacity=0.6, weight=1, key="greenways_parks",
                          tooltip=[("name", text("greenways.name", lang)), ("area_m2", text("greenways.area_m", lang)),
                                   ("gw_distance_m", text("greenways.to_greenway_m", lang))]))
        if "dPC" in p.columns and p["dPC"].notna().any():
            pts = p.copy()
            pts["geometry"] = shapely.point_on_surface(pts.geometry.values)
            pts = gpd.GeoDataFrame(pts, geometry="geometry", crs=p.crs)
            pts["dPC"] = pts["dPC"].round(2)
            pts["dIIC"] = pts["dIIC"].round(2)
            classes = [(10.0, np.inf, 11.0, "#fe9929", text("greenways.large_dpc_10", lang)),
                       (1.0, 10.0, 7.0, "#fec44f", text("greenways.medium_dpc_1_10", lang)),
                       (-np.inf, 1.0, 4.0, "#fff7bc", text("greenways.small_dpc_1", lang))]
            present = [c for c in classes if ((pts["dPC"] >= c[0]) & (pts["dPC"] < c[1])).any()]
            title = text("greenways.park_importance", lang)
            for k, (lo, hi, r, col, lab) in enumerate(present):
                sub = pts[(pts["dPC"] >= lo) & (pts["dPC"] < hi)]
                L.append(MapLayer(sub, title if k == 0 else f"{title} · {lab}", kind="point", color="#7f2704",
                                  fill_color=col, radius_px=r, fill_opacity=0.9, weight=1,
                                  legend=[(c[4], c[3]) for c in present] if k == 0 else None,
                                  tooltip=[("name", text("greenways.name", lang)), ("dPC", "dPC (%)"), ("dIIC", "dIIC (%)")]))
    if len(res.park_links):
        pl = res.park_links.copy()
        pl["distance_m"] = pl["distance_m"].round(0)
        pl["dPC"] = pl["dPC"].round(2)
        L.append(MapLayer(pl, text("greenways.park_links", lang), kind="line",
                          column="dPC", cmap="OrRd", bins=4, weight=2, show=False,
                          tooltip=[("park_a", text("greenways.from", lang)), ("park_b", text("greenways.to", lang)),
                                   ("distance_m", text("greenways.path_m", lang)), ("dPC", "dPC (%)")]))
    for c in res.corridors:
        if len(c.breaks):
            b = c.breaks.copy()
            b["geometry"] = shapely.line_interpolate_point(b.geometry.values, 0.5, normalized=True)
            b = gpd.GeoDataFrame(b, geometry="geometry", crs=c.breaks.crs)
            b["gap_m"] = b["gap_m"].round(0)
            b["walk_m"] = b["walk_m"].round(0)
            L.append(MapLayer(b, text("greenways.breaks_of", lang, name=c.name), kind="point", color="#67000d",
                              fill_color="#ef3b2c", radius_px=5,
                              tooltip=[("break_id", text("greenways.break", lang)), ("gap_m", text("greenways.gap_m", lang)),
                                       ("walk_m", text("greenways.walk_around_m", lang)),
                                       ("near_street", text("greenways.street", lang))]))
    return L


def write_greenways(res: GreenwayResult, out: str | Path, *, lang: str = "en", overwrite: bool = False,
                    maps: bool = True, streets: gpd.GeoDataFrame | None = None,
                    progress: Callable[[str], None] | None = None) -> Path:
    """Write a greenway result of its own (``geoplan greenways --network-only``) to a new folder, atomically.

    ``tables/*.csv``, ``greenways.xlsx``, ``summary.json`` (under ``greenways``),
    ``geoplan.gpkg`` and an offline ``map.html``.

    Parameters
    ----------
    res : GreenwayResult
    out : path
    lang : {"zh", "en"}
    overwrite : bool
    maps : bool
    streets : GeoDataFrame, optional
        The walking network's edges, drawn as the basemap.
    progress : callable, optional

    Returns
    -------
    Path of the folder.
    """
    say = progress or (lambda m: None)
    with atomic_folder(out, overwrite=overwrite) as tmp, WarningLog(reemit=True) as caught:
        say("writing tables and the GeoPackage")
        write_folder(tmp, tables={f"greenways_{k}" if not k.startswith("greenways") else k: v
                                  for k, v in res.tables().items()},
                     xlsx="greenways.xlsx", summary={"greenways": res.summary()},
                     layers={f"greenways_{k}": v for k, v in res.layers().items()}, gpkg="geoplan.gpkg", lang=lang)
        if maps:
            say("drawing the map")
            try:
                base = {"streets": streets} if streets is not None else None
                m = interactive_map(map_layers(res, lang), title=text("greenways.title", lang),
                                    basemap="osm-data" if base else "auto", basemap_layers=base, lang=lang)
                save_map(m, tmp / "map.html")
            except Exception as exc:  # noqa: BLE001 - a map failure must not lose the tables
                warnings.warn(f"greenways: the map could not be drawn ({type(exc).__name__}: {exc}).", GeoplanWarning,
                              stacklevel=2)
        (tmp / "geoplan.log").write_text(_log(res, list(getattr(res, "warnings", []) or []) + list(caught.records)),
                                         encoding="utf-8")
    return Path(out).resolve()


def _log(res: GreenwayResult, records: list) -> str:
    """``geoplan.log`` of a network-only greenway folder: inputs, notes and every warning, each once."""
    seen, warned = set(), []
    for r in records:
        if (r.category, r.message) not in seen:
            seen.add((r.category, r.message))
            warned.append(r)
    lines = [f"geoplan {__version__} greenways (network only) on Python {platform.python_version()} ({platform.system()})",
             "inputs: " + json.dumps(res.provenance, ensure_ascii=False, default=str)]
    lines += [f"greenways: {n}" for n in res.notes]
    lines.append(f"warnings: {len(warned)}" + ("" if warned else " (none)"))
    lines += [f"  {r.log_line()}" for r in warned]
    return "\n".join(lines) + "\n"
