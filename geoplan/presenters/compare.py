"""How a comparison of two audits is shown and written: tables, change maps, ``index.html``, log."""

from __future__ import annotations

import os
import platform
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import shapely

from .._version import __version__
from ..compare import Comparison, as_bool, parks_only_in
from ..errors import UsageError
from ..i18n import label, text
from ..maps import interactive_map, save_map, static_map
from ..maps.layers import MapLayer
from ..maps.palettes import GAINED, LOST
from ..folder import atomic_folder, write_folder
from .html import Col, auto_table, esc, fmt_int, fmt_pct, fmt_pp, html_table, page, status_cell

__all__ = ["CHANGE_COLOURS", "headline", "write_comparison"]

#: Colours of the change classes on the maps.
#: Blue for better, red for worse, light tints for unchanged: apart in greyscale and for colour-blind readers.
CHANGE_COLOURS = {"newly_covered": GAINED, "newly_uncovered": LOST, "still_covered": "#92c5de",
                  "still_uncovered": "#fddbc7"}


def headline(comp: Comparison, lang: str = "en") -> str:
    """One sentence per method: coverage before → after."""
    parts = []
    for m in comp.methods:
        r = comp.overall[(comp.overall["method"] == m) & (comp.overall["scope"] == "all") & (comp.overall["tier"] == "all")].iloc[0]
        parts.append(text("compare.headline", lang, method=label(m, lang), before=r["land_pct_old"],
                          after=r["land_pct_new"], change=r["land_pct_change_pp"]))
    return text("list_separator_clauses", lang).join(parts)


def write_comparison(comp: Comparison, out: str | os.PathLike, *, lang: str | None = None, overwrite: bool = False,
                     maps: bool = True, progress: Callable[[str], None] | None = None,
                     quiet: bool | None = None) -> Path:
    """Write a comparison folder, atomically: tables (CSV, XLSX), GeoPackage, maps, ``index.html``, log.

    Parameters
    ----------
    comp : Comparison
    out : path
        Output folder; must not exist unless ``overwrite``.
    lang : {"zh", "en"}, optional
        Default: the later audit's language, else English.
    overwrite : bool
    maps : bool
        Draw the change maps (static PNG per method and an interactive map).
    progress : callable, optional
    quiet : bool, optional
        True: no progress bars.

    Returns
    -------
    Path of the written folder.
    """
    say = progress or (lambda m: None)
    lang = lang or comp.new.lang or comp.old.lang or "en"
    if lang not in ("zh", "en"):
        raise UsageError(f"unknown language {lang!r}.", hint="Use zh or en.")
    t0 = time.perf_counter()
    with atomic_folder(out, overwrite=overwrite) as tmp:
        say("writing tables")
        write_folder(tmp, tables=comp.tables(), xlsx="comparison.xlsx", summary=comp.summary(),
                     summary_file="comparison.json", clean_summary=False, lang=lang)
        say("writing the GeoPackage")
        gpkg = tmp / "comparison.gpkg"
        if len(comp.change):
            g = comp.change.copy()
            g["unit_name"] = g["unit_name"].astype(str)
            g.to_file(gpkg, layer="coverage_change", driver="GPKG", engine="pyogrio")
        if comp.context.get("units") is not None:
            comp.context["units"].to_file(gpkg, layer="units", driver="GPKG", engine="pyogrio")
        drawn: list[str] = []
        if maps:
            say("drawing the change maps")
            drawn = _change_maps(comp, tmp, lang, quiet)
        (tmp / "index.html").write_text(_html(comp, lang, drawn), encoding="utf-8")
        comp.timings["writing"] = time.perf_counter() - t0
        (tmp / "geoplan.log").write_text(_log(comp), encoding="utf-8")
    return Path(out).resolve()


def _log(comp: Comparison) -> str:
    lines = [f"geoplan {__version__} compare on Python {platform.python_version()} ({platform.system()})",
             f"geopandas {gpd.__version__}, shapely {shapely.__version__}",
             f"old: {comp.old.path} (geoplan {comp.old.summary.get('geoplan_version')}, rules "
             f"{(comp.old.summary.get('rules') or {}).get('name')})",
             f"new: {comp.new.path} (geoplan {comp.new.summary.get('geoplan_version')}, rules "
             f"{(comp.new.summary.get('rules') or {}).get('name')})",
             "settings that differ: " + (", ".join(comp.settings["setting"]) or "none"),
             "timings (s): " + ", ".join(f"{k} {v:.2f}" for k, v in comp.timings.items())]
    records = list(getattr(comp, "warnings", []) or [])
    lines.append(f"warnings: {len(records)}" + ("" if records else " (none)"))
    lines += [f"  {r.log_line()}" for r in records]
    return "\n".join(lines) + "\n"


def _change_layers(comp: Comparison, method: str, lang: str) -> list:
    L = lambda k: label(k, lang)
    crs = comp.context["crs"]
    layers = []
    units = comp.context.get("units")
    if units is not None and len(units):
        layers.append(MapLayer(units[["unit_name", "geometry"]], L("units"), kind="polygon", color="#555555",
                               fill_opacity=0.0, weight=1.2, legend=None, tooltip=[("unit_name", L("unit_name"))]))
    ctx_rows = []
    for kind in ("still_covered", "still_uncovered"):
        g = comp.context.get(f"{kind}:{method}")
        if g is not None and not g.is_empty:
            ctx_rows.append({"change_kind": kind, "geometry": g})
    for kind in ("newly_covered", "newly_uncovered"):
        d = comp.change[(comp.change["method"] == method) & (comp.change["change_kind"] == kind)]
        if len(d):
            ctx_rows.append({"change_kind": kind, "geometry": shapely.union_all(d.geometry.values)})
    if ctx_rows:
        g = gpd.GeoDataFrame(ctx_rows, geometry="geometry", crs=crs)
        g["area_m2"] = g.geometry.area.round(0)
        g["change_label"] = g["change_kind"].map(L)
        present = [k for k in CHANGE_COLOURS if k in set(g["change_kind"])]
        labs = {k: L(k) for k in present}
        layers.append(MapLayer(g, f"{L('residential')} ({L(method)})", kind="polygon", column="change_kind",
                               categories={k: CHANGE_COLOURS[k] for k in present}, category_labels=labs,
                               fill_opacity=0.75, weight=0.3,
                               tooltip=[("change_label", L("change_kind")), ("area_m2", L("area_m2"))]))
    pa, pb = comp.context.get("parks_old"), comp.context.get("parks_new")
    if pb is not None and len(pb):
        p = pb[pb["tier"].notna() & (pb["tier"].astype(str) != "None")][["name", "geometry"]].copy()
        p["name"] = p["name"].fillna("")
        if len(p):
            layers.append(MapLayer(p, f"{L('parks')} ({L('new')})", kind="polygon", color="#00441b",
                                   fill_color="#41ab5d", fill_opacity=0.7, weight=0.8, tooltip=[("name", L("name"))]))
    if pa is not None and len(pa) and pb is not None:
        gone = parks_only_in(pa, pb)
        if len(gone):
            layers.append(MapLayer(gone, f"{L('parks')} ({L('only_in_old')})", kind="polygon", color="#a50026",
                                   fill_opacity=0.0, weight=2.0, dash="4 2", tooltip=[("name", L("name"))]))
    return layers


def _change_maps(comp: Comparison, folder: Path, lang: str, quiet: bool | None) -> list[str]:
    (folder / "maps").mkdir(exist_ok=True)
    drawn = []
    methods = [m for m in ("euclidean", "network") if f"still_covered:{m}" in comp.context]
    all_layers = []
    for m in methods:
        layers = _change_layers(comp, m, lang)
        if not any(len(x.gdf) for x in layers):
            continue
        rel = f"maps/coverage_change_{m}.png"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for ext in ("png", "pdf"):  # print quality: a 300 dpi PNG and a vector PDF
                static_map(layers, folder / rel.replace(".png", f".{ext}"),
                           title=f"{label('coverage_change_map', lang)} · {label(m, lang)}",
                           subtitle=f"{comp.old.name} → {comp.new.name}", paper="A4", dpi=300, lang=lang)
        drawn.append(rel)
        for i, x in enumerate(layers):
            if i > 0 and x.name.startswith(label("units", lang)):
                continue
            x.show = (m == methods[-1])
        all_layers += layers if not all_layers else layers[1:]
    if all_layers:
        m = interactive_map(all_layers, title=f"{label('coverage_change_map', lang)}: {comp.old.name} → {comp.new.name}",
                            basemap="none", lang=lang)
        save_map(m, folder / "change_map.html")
        drawn.append("change_map.html")
    return drawn


def _html(comp: Comparison, lang: str, drawn: list[str]) -> str:
    L = lambda k: label(k, lang)
    title = L("comparison_title")
    p = [f"<h1>{esc(title)}</h1>",
         f"<p class='sub'>{esc(L('old_audit'))}: <b>{esc(comp.old.name)}</b> → {esc(L('new_audit'))}: "
         f"<b>{esc(comp.new.name)}</b></p>"]
    head = headline(comp, lang)
    if head:
        p.append(f"<p><b>{esc(head)}</b></p>")
    if len(comp.settings):
        p.append(f"<h2>{esc(L('settings_changed'))}</h2>")
        warn = text("compare.settings_differ", lang)
        p.append(f"<p class='muted'>{esc(warn)}</p>")
        p.append(html_table(comp.settings, [Col("setting", L("setting"), esc, num=False),
                                            Col("value_old", L("old"), esc, num=False),
                                            Col("value_new", L("new"), esc, num=False)]))
    p.append(f"<h2>{esc(L('targets'))}</h2>")
    t = comp.targets
    if len(t):
        t = t.copy()
        t["label"] = t["label_zh" if lang == "zh" else "label_en"]
        p.append(html_table(t, [
            Col("label", L("indicator"), esc, num=False), Col("value", L("required"), lambda v: f"≥ {esc(v)}"),
            Col("measured_old", L("measured_old"), fmt_pct), Col("measured_new", L("measured_new"), fmt_pct),
            Col("measured_change_pp", L("measured_change_pp"), fmt_pp,
                cls=lambda v: "bad" if isinstance(v, float) and v < 0 else ("good" if isinstance(v, float) and v > 0 else "")),
            Col("met_old", L("met_old"), lambda v: status_cell(as_bool(v), lang), num=False),
            Col("met_new", L("met_new"), lambda v: status_cell(as_bool(v), lang), num=False)]))
    else:
        p.append(f"<p class='muted'>{esc(L('none_found'))}</p>")
    sign = (lambda v: "bad" if isinstance(v, float) and v < -1e-9 else ("good" if isinstance(v, float) and v > 1e-9 else ""))
    p.append(f"<h2>{esc(L('park_coverage'))}</h2>")
    o = comp.overall
    if len(o):
        main = o[o["tier"] == "all"]
        cols = [Col("scope", L("scope"), lambda v: esc(L(v)), num=False),
                Col("method", L("method"), lambda v: esc(L(v)), num=False),
                Col("land_pct_old", L("land_pct_old"), fmt_pct), Col("land_pct_new", L("land_pct_new"), fmt_pct),
                Col("land_pct_change_pp", L("land_pct_change_pp"), fmt_pp, cls=sign),
                Col("residents_pct_old", L("residents_pct_old"), fmt_pct), Col("residents_pct_new", L("residents_pct_new"), fmt_pct),
                Col("residents_pct_change_pp", L("residents_pct_change_pp"), fmt_pp, cls=sign),
                Col("covered_m2_change", L("covered_m2_change"), fmt_int)]
        p.append(html_table(main, cols))
        tiers = o[o["tier"] != "all"]
        if len(tiers):
            p.append(f"<details><summary>{esc(L('by_tier'))}</summary>"
                     + html_table(tiers, cols[:2] + [Col("tier", L("tier"), esc, num=False)] + cols[2:]) + "</details>")
    p.append(f"<h2>{esc(L('by_unit'))}</h2>")
    u = comp.by_unit
    if len(u):
        u = u[(u["scope"] == "all") & (u["tier"] == "all")]
        piv = u.pivot_table(index=["unit_id", "unit_name"], columns="method",
                            values=["land_pct_old", "land_pct_new", "land_pct_change_pp"], aggfunc="first")
        piv.columns = [f"{v}:{m}" for v, m in piv.columns]
        piv = piv.reset_index()
        cols = [Col("unit_id", L("unit_id"), esc), Col("unit_name", L("unit_name"), esc, num=False)]
        for m in ("euclidean", "network"):
            if f"land_pct_old:{m}" in piv.columns:
                cols += [Col(f"land_pct_old:{m}", f"{L('land_pct_old')} · {L(m)}", fmt_pct),
                         Col(f"land_pct_new:{m}", f"{L('land_pct_new')} · {L(m)}", fmt_pct),
                         Col(f"land_pct_change_pp:{m}", f"{L('land_pct_change_pp')} · {L(m)}", fmt_pp, cls=sign)]
        p.append(html_table(piv, cols))
    p.append(f"<h2>{esc(L('coverage_change_map'))}</h2>")
    cb = comp.change_by_unit
    cb = cb[(cb["newly_covered_m2"] > 0) | (cb["newly_uncovered_m2"] > 0)] if len(cb) else cb
    if not len(cb):
        p.append(f"<p class='muted'>{esc(L('no_change'))}</p>")
    else:
        p.append(html_table(cb, [
            Col("method", L("method"), lambda v: esc(L(v)), num=False), Col("unit_name", L("unit_name"), esc, num=False),
            Col("newly_covered_m2", L("newly_covered_m2"), fmt_int), Col("newly_uncovered_m2", L("newly_uncovered_m2"), fmt_int),
            Col("net_change_m2", L("net_change_m2"), fmt_int, cls=sign),
            Col("newly_covered_residents", L("newly_covered_residents"), fmt_int),
            Col("newly_uncovered_residents", L("newly_uncovered_residents"), fmt_int)]))
    if "change_map.html" in drawn:
        p.append(f"<p><a href='change_map.html'>{esc(L('interactive_map'))}</a></p>")
    for rel in drawn:
        if rel.endswith(".png"):
            p.append(f"<p><a href='{rel}'><img class='map' src='{rel}' alt='{esc(L('coverage_change_map'))}'></a></p>")
    ind = comp.indicators.dropna(subset=["value_change"])
    ind = ind[ind["value_change"].abs() > 1e-9]
    p.append(f"<h2>{esc(L('indicators_changed'))}</h2>")
    p.append(auto_table(ind, lang, max_rows=60, file="tables/indicators_change.csv"))
    if len(comp.unit_indicators):
        p.append(f"<h2>{esc(L('analyses'))} · {esc(L('by_unit'))}</h2>")
        p.append(auto_table(comp.unit_indicators, lang, max_rows=40, file="tables/unit_indicators_change.csv"))
    files = [("comparison.xlsx", L("workbook")), ("comparison.gpkg", L("geopackage")),
             ("comparison.json", L("summary_json")), ("geoplan.log", L("log_file"))]
    p.append(f"<h2>{esc(L('downloads'))}</h2><ul>"
             + "".join(f"<li><a href='{f}'>{esc(t)}</a> <span class='muted'>{f}</span></li>" for f, t in files)
             + "".join(f"<li><a href='tables/{n}.csv'>{n}.csv</a></li>" for n in comp.tables()) + "</ul>")
    footer = f"© OpenStreetMap contributors (ODbL) · geoplan {__version__}"
    return page(title, "".join(p), lang, footer)
