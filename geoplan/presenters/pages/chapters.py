"""The chapters of the report: one per analysis, with its maps and the few tables a planner quotes.

Long tables are never inlined: a chapter links their CSV (and the workbook's sheet of the same name).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from ... import presenters
from ...errors import GeoplanWarning
from ...i18n import has_label
from ..html import Col, auto_fmt, auto_table, esc, fmt_int, fmt_pct, html_table
from .context import PageContext, slug
from .figures import coverage_cols, method_pivot, name_cell
from .front import published_table

__all__ = ["CHAPTERS", "MAX_INLINE_ROWS", "chapters", "chapter_id", "table_link"]

#: A table longer than this is linked, never inlined (a district's 15 jiedao and their total fit).
MAX_INLINE_ROWS = 16
#: Columns of an analysis' own table shown inline (wider tables are linked).
MAX_INLINE_COLS = 9


def chapter_id(name: str) -> str:
    """The anchor of an analysis' chapter."""
    return f"analysis-{slug(name)}"


def table_link(ctx: PageContext, name: str, rows: int | None = None) -> str:
    """A link to a table's CSV with its row count, in the page's language."""
    n = rows if rows is not None else len(ctx.tables.get(name, ()))
    return ctx.T("report.table_link", file=f"<a href='tables/{esc(name)}.csv'>{esc(name)}.csv</a>", n=f"{n:,}")


def _map(ctx: PageContext, rel: str, alt: str) -> str:
    return f"<p class='mapimg'><a href='{esc(rel)}'><img class='map' src='{esc(rel)}' alt='{esc(alt)}'></a></p>"


def _headline(ctx: PageContext, res: Any) -> str:
    try:
        head = presenters.headline(res, ctx.lang)
    except Exception:  # noqa: BLE001 - a headline is optional decoration
        head = None
    if not head:
        return ""
    lines = [x.strip() for x in str(head).splitlines() if x.strip()]
    return "<ul class='headline'>" + "".join(f"<li>{esc(x)}</li>" for x in lines) + "</ul>"


def _small(ctx: PageContext, df: pd.DataFrame, scope: str | None, file: str | None = None, **kw: Any) -> str:
    """A table inline when short and narrow, else a link to its CSV."""
    df = pd.DataFrame(df)
    if len(df) > MAX_INLINE_ROWS or len(df.columns) > MAX_INLINE_COLS + 2:
        return f"<p>{table_link(ctx, file, len(df))}</p>" if file else ""
    out = auto_table(df, ctx.lang, max_rows=None, scope=scope, labels=ctx.labels, **kw)
    return out + (f"<p class='muted'>{table_link(ctx, file, len(df))}</p>" if file else "")


def _figure_table(ctx: PageContext, rows: list[tuple[str, str]]) -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td class='num'>{esc(v)}</td></tr>" for k, v in rows)
    return f"<div class='tw'><table class='figures'>{body}</table></div>"


# ------------------------------------------------------------------ park coverage
def park_chapter(ctx: PageContext) -> str:
    """Park coverage: definitions, the figures by residential land source, scope and tier, land per unit, parks."""
    L, T = ctx.L, ctx.T
    cov = ctx.result.parks
    methods = list(cov.methods)
    out = [f"<p>{esc(T('report.park_definition'))}</p>",
           f"<p><a href='map.html'>{esc(L('interactive_map'))}</a> · {ctx.print_links('park_coverage')}</p>"]
    # which residential land: mapped, inferred, both
    bs = getattr(cov, "by_source", None)
    if bs is not None and len(bs):
        piv = method_pivot(bs[bs["scope"] == "all"], methods, ["residential_source"])
        order = {"mapped": 0, "inferred": 1, "both": 2}
        piv = piv.sort_values("residential_source", key=lambda s: s.map(order)).reset_index(drop=True)
        cols = coverage_cols(ctx, [Col("residential_source", L("residential"),
                                       lambda v: esc(T(f"residential.source_{v}")), num=False),
                                   Col("land_m2", L("land_m2"), fmt_int), Col("residents", L("residents"), fmt_int)])
        out.append(f"<h3>{esc(T('report.by_source'))}</h3><p class='muted'>{esc(T('report.source_note'))}</p>")
        out.append(html_table(piv, cols))
    # scopes
    piv = method_pivot(cov.overall, methods, ["scope"])
    order = {s: i for i, s in enumerate(("all", "outside_historic", "inside_historic"))}
    piv = piv.sort_values("scope", key=lambda s: s.map(order)).reset_index(drop=True)
    out.append(f"<h3>{esc(T('report.by_scope'))}</h3>")
    out.append(html_table(piv, coverage_cols(ctx, [Col("scope", L("scope"), lambda v: esc(L(v)), num=False),
                                                   Col("land_m2", L("land_m2"), fmt_int),
                                                   Col("residents", L("residents"), fmt_int)])))
    if not cov.has_historic:
        out.append(f"<p class='muted'>{esc(T('report.historic_missing'))}</p>")
    # tiers
    tiers = cov.overall[cov.overall["scope"] == "all"].copy()
    tier_lab = {t.id: t.text(ctx.lang) for t in cov.rules.tiers}
    tiers["tier_label"] = tiers["tier"].map(lambda t: tier_lab.get(t, T("report.all_tiers") if t == "all" else t))
    out.append(f"<h3>{esc(L('by_tier'))}</h3>")
    out.append(html_table(tiers, [Col("method", L("method"), lambda v: esc(L(v)), num=False),
                                  Col("tier_label", L("tier"), esc, num=False),
                                  Col("covered_m2", L("covered_m2"), fmt_int), Col("land_pct", L("land_pct"), fmt_pct),
                                  Col("covered_residents", L("covered_residents"), fmt_int),
                                  Col("residents_pct", L("residents_pct"), fmt_pct)]))
    # residential land per unit: mapped and inferred
    rl = ctx.tables.get("residential_land_by_unit")
    if rl is not None and len(rl):
        out.append(f"<h3>{esc(T('report.land_by_unit'))}</h3>")
        rl = rl.copy()
        rl["unit_name"] = rl["unit_name"].map(lambda v: L("total") if str(v) == "all" else v)
        out.append(html_table(rl, [Col("unit_name", L("unit_name"), name_cell, num=False),
                                   Col("mapped_m2", L("mapped_m2"), fmt_int), Col("inferred_m2", L("inferred_m2"), fmt_int),
                                   Col("inferred_pct", L("inferred_pct"), fmt_pct), Col("residents", L("residents"), fmt_int)],
                              cls="compact"))
        if "park_coverage_by_unit_source" in ctx.tables:
            out.append(f"<p class='muted'>{esc(T('report.by_unit_source'))} {table_link(ctx, 'park_coverage_by_unit_source')}</p>")
    # published figures and whether they compare
    pub = published_table(ctx, full=True)
    if pub:
        out.append(f"<h3>{esc(L('published_figures'))}</h3>{pub}")
    pk = ctx.summary.get("parks") or {}
    out.append(f"<h3>{esc(L('parks'))}</h3><p>{esc(T('report.parks_counted', found=pk.get('found', 0), counted=pk.get('counted', 0)))} "
               f"{table_link(ctx, 'parks')}</p>")
    b = cov.blind_spots
    nb = int((b["method"] == ctx.default_method).sum()) if len(b) else 0
    out.append(f"<p>{esc(T('report.blind_spot_definition', method=L(ctx.default_method)))} {table_link(ctx, 'blind_spots', nb)}</p>")
    return "".join(out)


# ------------------------------------------------------------------ life circles
def lifecircle_chapter(ctx: PageContext, name: str, res: Any) -> str:
    """Life circles: per category (found, reached at its own level), per unit (complete, share reached), catchments."""
    L, T = ctx.L, ctx.T
    rules = res.rules
    top = rules.levels[-1]
    out = []
    oc = res.overall_category.copy()
    cats = {c.id: c for c in rules.categories}
    oc["category_label"] = oc["category"].map(lambda c: cats[c].text(ctx.lang) if c in cats else c)
    oc["level_label"] = oc["level"].map(lambda lv: _level(rules, lv, ctx.lang))
    reached_top = f"reached_{top.id}_pct"
    cols = [Col("category_label", L("category", "lifecircle"), esc, num=False),
            Col("level_label", L("level", "lifecircle"), esc, num=False),
            Col("threshold_m", L("threshold_m", "lifecircle"), fmt_int),
            Col("facilities", L("facilities", "lifecircle"), fmt_int),
            Col("reached_pct", L("reached_pct", "lifecircle"), fmt_pct)]
    if reached_top in oc.columns:
        cols.append(Col(reached_top, ctx.L(reached_top, "lifecircle"), fmt_pct))
    out.append(f"<h3>{esc(L('overall_category'))}</h3>" + html_table(oc, cols, cls="compact"))
    bu = res.by_unit.copy()
    if len(bu):
        bu["most_missing_label"] = bu["most_missing"].map(lambda c: cats[c].text(ctx.lang) if c in cats else "—")
        cols = [Col("unit_name", L("unit_name"), name_cell, num=False), Col("residents", L("residents"), fmt_int)]
        for lv in rules.levels:
            if f"complete_{lv.id}_pct" in bu.columns:
                cols.append(Col(f"complete_{lv.id}_pct", L(f"complete_{lv.id}_pct", "lifecircle"), fmt_pct))
        if f"score_{top.id}_pct" in bu.columns:
            cols.append(Col(f"score_{top.id}_pct", L(f"score_{top.id}_pct", "lifecircle"), fmt_pct))
        cols.append(Col("most_missing_label", L("most_missing", "lifecircle"), esc, num=False))
        out.append(f"<h3>{esc(L('lifecircle_by_unit'))}</h3>" + html_table(bu, cols, cls="compact"))
    ca = res.catchments
    if ca is not None and len(ca):
        ca = ca.copy()
        cmap = {c.id: c for c in getattr(rules, "catchments", [])}
        ca["catchment_label"] = ca["catchment"].map(lambda c: cmap[c].text(ctx.lang) if c in cmap else c)
        out.append(f"<h3>{esc(L('catchments'))}</h3>" + html_table(ca, [
            Col("catchment_label", L("catchment", "lifecircle"), esc, num=False),
            Col("distance_m", L("distance_m"), fmt_int), Col("within_pct", L("within_pct", "lifecircle"), fmt_pct),
            Col("target_pct", L("target_pct", "lifecircle"), fmt_pct),
            Col("facilities", L("facilities", "lifecircle"), fmt_int),
            Col("facilities_short", L("facilities_short", "lifecircle"), fmt_int)], cls="compact"))
    links = [table_link(ctx, k) for k in ("lifecircle_by_unit_category", "lifecircle_register_values", "lifecircle_isochrones")
             if k in ctx.tables]
    if links:
        out.append(f"<p class='muted'>{esc(T('report.more_tables'))} " + " · ".join(links) + "</p>")
    return "".join(out)


def _level(rules: Any, lv: str, lang: str) -> str:
    try:
        return rules.level(lv).text(lang)
    except Exception:  # noqa: BLE001 - a catchment's own level
        return str(lv)


# ------------------------------------------------------------------ greenways
#: The figures of a greenway network a planner quotes, in this order.
GREENWAY_FIGURES = ("length_km", "components", "largest_component_share_pct", "dangling_ends", "alpha", "beta", "gamma",
                    "cyclomatic")


def greenways_chapter(ctx: PageContext, name: str, res: Any) -> str:
    """Greenways: the network's figures, the joining links, what they reach."""
    L, T = ctx.L, ctx.T
    out = []
    idx = getattr(res, "indices", None)
    if idx is None or not len(idx):
        return f"<p class='muted'>{esc(T('greenways.headline_none'))}</p>"
    row = idx.iloc[0]
    rows = [(L(k, "greenways"), auto_fmt(k, row[k], ctx.lang)) for k in GREENWAY_FIGURES if k in row.index]
    out.append(f"<h3>{esc(L('key_figures'))}</h3>" + _figure_table(ctx, rows))
    t = ctx.analysis_tables(name)
    links = t.get("links")
    if links is not None and len(links):
        top = pd.DataFrame(links).sort_values("rank").head(10)
        out.append(f"<h3>{esc(T('greenways.proposed_joining_links'))}</h3>" + html_table(top, [
            Col("rank", L("rank"), esc), Col("straight_m", L("straight_m", "greenways"), fmt_int),
            Col("walk_m", L("walk_m", "greenways"), fmt_int), Col("via", L("via", "greenways"), name_cell, num=False),
            Col("cumulative_m", L("cumulative_m", "greenways"), fmt_int)], cls="compact"))
        out.append(f"<p class='muted'>{table_link(ctx, 'greenways_links', len(links))}</p>")
    reach = t.get("reach")
    if reach is not None and len(reach):
        out.append(f"<h3>{esc(T('report.greenway_reach'))}</h3>" + html_table(reach, [
            Col("method", L("method"), lambda v: esc(L(v)), num=False),
            Col("land_pct", L("land_pct"), fmt_pct), Col("residents_pct", L("residents_pct"), fmt_pct)], cls="compact"))
    more = [table_link(ctx, f"greenways_{k}") for k in ("components", "gaps", "parks", "patch_connectivity", "segments")
            if f"greenways_{k}" in ctx.tables]
    if more:
        out.append(f"<p class='muted'>{esc(T('report.more_tables'))} " + " · ".join(more) + "</p>")
    return "".join(out)


# ------------------------------------------------------------------ fairness
def fairness_chapter(ctx: PageContext, name: str, res: Any) -> str:
    """Fairness: the units ranked, the inequality of the walk to a park, the charts."""
    L, T = ctx.L, ctx.T
    out = []
    try:
        figs = presenters.figures(res, ctx.folder, ctx.lang)
    except Exception as exc:  # noqa: BLE001 - a chart must not cost the whole report
        warnings.warn(f"{name}: its charts failed ({exc}).", GeoplanWarning, stacklevel=2)
        figs = []
    model = res.models[-1]
    rk = res.ranking[res.ranking["model"] == model]
    if len(rk):
        out.append(f"<h3>{esc(L('ranking'))}</h3>" + html_table(rk, [
            Col("rank", L("rank"), esc), Col("unit_name", L("unit_name"), name_cell, num=False),
            Col("residents", L("residents"), fmt_int), Col("park_mean_m", L("park_mean_m", "fairness"), fmt_int),
            Col("park_residents_pct", L("park_residents_pct", "fairness"), fmt_pct),
            Col("lifecircle_score_pct", L("lifecircle_score_pct", "fairness"), fmt_pct),
            Col("score", L("score", "fairness"), lambda v: "—" if v != v else f"{float(v):.1f}")], cls="compact"))
    iq = res.inequality
    iq = iq[(iq["model"] == model) & (iq["unit_id"].astype(str) == "all")].copy()
    if len(iq):
        iq["measure_label"] = iq["measure"].map(lambda m: L(m, "fairness"))
        f3 = lambda v: "—" if v != v else f"{float(v):,.3f}"  # noqa: E731
        f1 = lambda v: "—" if v != v else f"{float(v):,.1f}"  # noqa: E731
        out.append(f"<h3>{esc(L('inequality'))}</h3>" + html_table(iq, [
            Col("measure_label", L("measure", "fairness"), esc, num=False), Col("mean", L("mean", "fairness"), f1),
            Col("median", L("median", "fairness"), f1), Col("p90", L("p90", "fairness"), f1),
            Col("gini", L("gini", "fairness"), f3)], cls="compact"))
    for title, path in figs:
        out.append(f"<h3>{esc(title)}</h3>" + _map(ctx, str(path), title))
    more = [table_link(ctx, k) for k in ("fairness_inequality", "fairness_mean_time", "fairness_lorenz") if k in ctx.tables]
    out.append(f"<p class='muted'>{esc(T('report.more_tables'))} " + " · ".join(more) + "</p>")
    return "".join(out)


# ------------------------------------------------------------------ any other analysis
def generic_chapter(ctx: PageContext, name: str, res: Any) -> str:
    """An analysis with no chapter of its own: its charts, its short tables inline and the long ones linked."""
    out = []
    try:
        figs = presenters.figures(res, ctx.folder, ctx.lang)
    except Exception:  # noqa: BLE001
        figs = []
    for title, path in figs:
        out.append(f"<h3>{esc(title)}</h3>" + _map(ctx, str(path), title))
    links = []
    for key, df in ctx.analysis_tables(name).items():
        fname = key if key.startswith(name) else f"{name}_{key}"
        if not isinstance(df, pd.DataFrame):
            continue
        if len(df) <= MAX_INLINE_ROWS and len(df.columns) <= MAX_INLINE_COLS + 2:
            out.append(f"<h3>{esc(_table_title(ctx, name, key))}</h3>")
            out.append(_small(ctx, df, name, fname))
        else:
            links.append(table_link(ctx, fname, len(df)))
    if links:
        out.append(f"<p class='muted'>{esc(ctx.T('report.more_tables'))} " + " · ".join(links) + "</p>")
    return "".join(out)


def _table_title(ctx: PageContext, name: str, key: str) -> str:
    if has_label(key, name):
        return ctx.L(key, name)
    short = key[len(name) + 1:] if key.startswith(name + "_") else key
    return ctx.L(short, name) if has_label(short, name) else short.replace("_", " ")


#: The chapter of each built-in analysis (by its name in ``AuditResult.analyses``); others get the generic one.
CHAPTERS: dict[str, Callable[[PageContext, str, Any], str]] = {
    "lifecircle": lifecircle_chapter,
    "greenways": greenways_chapter,
    "fairness": fairness_chapter,
}


def chapters(ctx: PageContext) -> list[tuple[str, str, str]]:
    """Every chapter as (anchor, title, HTML body): park coverage first, then each further analysis."""
    out = [("chapter-parks", ctx.L("park_coverage"), park_chapter(ctx))]
    for name, res in ctx.result.analyses.items():
        body = [_headline(ctx, res)]
        if name in ctx.maps:
            body.append(_map(ctx, ctx.maps[name], ctx.L(name)))
            links = ctx.print_links(slug(name))
            body.append(f"<p>{links}</p>" if links else "")
        try:
            body.append(CHAPTERS.get(name, generic_chapter)(ctx, name, res))
        except Exception as exc:  # noqa: BLE001 - one analysis' chapter must not cost the whole report
            warnings.warn(f"{name}: its chapter failed ({type(exc).__name__}: {exc}); the report links its tables only.",
                          GeoplanWarning, stacklevel=2)
            body.append(generic_chapter(ctx, name, res))
        out.append((chapter_id(name), ctx.L(name), "".join(body)))
    return out
