"""The appendix of the report, in plain words: definitions, inputs, parameters, versions and files."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from ...i18n import has_text
from ..html import Col, esc, fmt_int, html_table
from .context import PageContext

__all__ = ["appendix", "INPUT_KEYS", "LIBRARIES"]

#: Inputs of an audit shown in the appendix, in this order (labels ``input_<key>`` in labels.yaml).
INPUT_KEYS = ("pbf", "units", "parks", "residential", "natural", "historic", "population", "candidates", "area")
#: Libraries whose versions the appendix lists (the figures depend on them).
LIBRARIES = ("geopandas", "shapely", "pyproj", "scipy", "networkx", "pyrosm", "folium", "matplotlib")


def _rows(rows: list[tuple[str, str]], cls: str = "figures") -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f"<div class='tw'><table class='{cls}'>{body}</table></div>"


def definitions(ctx: PageContext) -> str:
    """What each figure means, and what makes two figures comparable."""
    L, T = ctx.L, ctx.T
    res = ctx.result
    rd = ctx.summary.get("residential_land") or {}
    items = [(L("park_coverage"), T("report.park_definition")),
             (L("euclidean"), T("report.def_euclidean")),
             (L("network"), T("report.def_network")),
             (L("residential"), (rd.get("text") or {}).get(ctx.lang, "") + ("。" if ctx.lang == "zh" else ". ")
              + T("report.def_residential")),
             (L("residents"), _residents_definition(ctx)),
             (L("blind_spots"), T("report.blind_spot_definition", method=L(ctx.default_method))),
             (L("comparable"), T("report.def_comparable"))]
    if "lifecircle" in res.analyses:
        items.append((L("lifecircle"), T("report.def_lifecircle")))
    if "greenways" in res.analyses:
        items.append((L("greenways"), T("report.def_greenways")))
    if "fairness" in res.analyses:
        items.append((L("fairness"), T("report.def_fairness")))
    out = "<dl class='defs'>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in items) + "</dl>"
    tiers = pd.DataFrame([{"tier": t.text(ctx.lang), "min_area_m2": t.min_area_m2, "radius_m": t.radius_m,
                           "where": T("report.tier_historic") if t.within_historic else T("report.tier_everywhere")}
                          for t in res.config.rules.tiers])
    out += f"<h3>{esc(T('report.tiers_title', rules=res.config.rules.text(ctx.lang)))}</h3>"
    out += html_table(tiers, [Col("tier", L("tier"), esc, num=False), Col("min_area_m2", L("min_area_m2"), fmt_int),
                              Col("radius_m", L("radius_m"), fmt_int), Col("where", L("applies_in"), esc, num=False)],
                      cls="compact")
    lc = res.analyses.get("lifecircle")
    if lc is not None:
        lv = pd.DataFrame([{"level": x.text(ctx.lang), "minutes": x.minutes, "distance_m": x.distance_m}
                           for x in lc.rules.levels])
        out += f"<h3>{esc(T('report.levels_title'))}</h3>" + html_table(lv, [
            Col("level", L("level", "lifecircle"), esc, num=False), Col("minutes", L("minutes", "lifecircle"), fmt_int),
            Col("distance_m", L("distance_m"), fmt_int)], cls="compact")
    return out


def _residents_definition(ctx: PageContext) -> str:
    key = f"report.def_residents_{(ctx.summary.get('population') or {}).get('method', '')}"
    return ctx.T(key) if has_text(key) else ctx.T("report.def_residents_other")


def inputs(ctx: PageContext) -> str:
    """Each input file by its kind (file names only: the full paths are in summary.json and geoplan.log)."""
    L = ctx.L
    inp = ctx.result.config.inputs
    rows = []
    for k in INPUT_KEYS:
        v = getattr(inp, k, None)
        if v:
            rows.append((L(f"input_{k}"), f"<span class='file'>{esc(Path(str(v)).name)}</span>"))
    lc = (ctx.result.config.extra or {}).get("lifecircle") or {}
    if lc.get("facilities"):
        rows.append((L("input_facilities"), f"<span class='file'>{esc(Path(str(lc['facilities'])).name)}</span>"))
    if not inp.pbf:
        rows.insert(0, (L("input_pbf"), esc(ctx.T("report.bundled_sample"))))
    if not inp.historic:
        rows.append((L("input_historic"), esc(ctx.T("report.not_given"))))
    net = ctx.summary.get("network") or {}
    if net:
        rows.append((L("network_size"), esc(ctx.T("report.network_size", nodes=net.get("nodes", 0), edges=net.get("edges", 0),
                                                   km=net.get("length_km", 0.0)))))
    pop = ctx.summary.get("population") or {}
    if pop.get("total"):
        rows.append((L("residents"), esc(f"{pop['total']:,.0f}")))
    return _rows(rows)


def parameters(ctx: PageContext) -> str:
    """The settings that change the figures, each named in plain words."""
    L, T = ctx.L, ctx.T
    cfg = ctx.result.config
    rows = [(L("rules"), esc(cfg.rules.text(ctx.lang))),
            (L("method"), esc(" / ".join(L(m) for m in ctx.result.parks.methods))),
            (L("crs"), esc(ctx.summary.get("crs", "—"))),
            (L("cell_size_m"), esc(f"{float(cfg.residential.get('cell_size_m', 25)):g}")),
            (L("infer_residential"), esc(T("report.yes") if cfg.residential.get("infer") else T("report.no")))]
    lc = ctx.summary.get("lifecircle") or {}
    if lc:
        rows.append((L("speed_kmh"), esc(f"{lc.get('speed_kmh', 0):g}")))
        rows.append((L("lifecircle_origins"), esc(T(f"report.origins_{lc.get('origins')}")
                                                  if lc.get("origins") in ("grid", "buildings", "cells") else str(lc.get("origins")))))
    gw = (ctx.summary.get("greenways") or {}).get("parameters") or {}
    for k in ("max_gap_m", "walk_m", "snap_m"):
        if k in gw:
            rows.append((L(f"greenway_{k}"), esc(f"{float(gw[k]):g}")))
    fa = ctx.summary.get("fairness") or {}
    if fa.get("distance_cap_m") is not None:
        rows.append((L("distance_cap_m"), esc(f"{float(fa['distance_cap_m']):g}")))
    return _rows(rows)


def versions(ctx: PageContext) -> str:
    """geoplan, Python and the libraries the figures depend on."""
    rows = [("geoplan", esc(ctx.summary.get("geoplan_version", ""))), ("Python", esc(platform.python_version()))]
    for lib in LIBRARIES:
        try:
            rows.append((lib, esc(metadata.version(lib))))
        except metadata.PackageNotFoundError:
            continue
    return _rows(rows, "figures versions")


def files(ctx: PageContext) -> str:
    """The files of the folder: map, workbook, GeoPackage, tables, log."""
    L = ctx.L
    items = [("map.html", L("interactive_map")), ("audit.xlsx", L("workbook")), ("geoplan.gpkg", L("geopackage")),
             ("summary.json", L("summary_json")), ("geoplan.log", L("log_file"))]
    if ctx.unit_pages:
        items.insert(1, ("units/book.html", L("unit_book")))
    if ctx.result.population.grid is not None:
        items.append(("population.tif", L("population_raster")))
    lis = "".join(f"<li><a href='{f}'>{esc(t)}</a> <span class='muted file'>{f}</span></li>" for f, t in items)
    csvs = "".join(f"<li><a href='tables/{esc(n)}.csv'>{esc(n)}.csv</a> <span class='muted'>"
                   f"{esc(ctx.T('report.rows', n=f'{len(df):,}'))}</span></li>" for n, df in ctx.tables.items())
    return (f"<ul>{lis}</ul><h3>{esc(L('tables_csv'))}</h3><p class='muted'>{esc(ctx.T('report.tables_note'))}</p>"
            f"<ul class='files'>{csvs}</ul>")


def appendix(ctx: PageContext) -> list[tuple[str, str, str]]:
    """The appendix sections as (anchor, title, HTML body)."""
    L = ctx.L
    return [("definitions", L("definitions"), definitions(ctx)),
            ("inputs", L("inputs"), inputs(ctx)),
            ("parameters", L("parameters"), parameters(ctx)),
            ("versions", L("software"), versions(ctx)),
            ("files", L("downloads"), files(ctx))]


