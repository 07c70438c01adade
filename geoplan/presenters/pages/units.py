"""One page per unit (``units/<unit_id>.html``) and the book of them all (``units/book.html``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..html import Col, auto_table, esc, fmt_int, fmt_pct, fmt_pp, html_table, isnan, status_cell
from ..html import page as html_page
from .context import PageContext, slug, unit_file
from .figures import localized, name_cell, park_targets, unit_table

__all__ = ["UNIT_TABLES", "unit_body", "write_unit_pages"]

#: The per-unit tables of each further analysis shown on a unit page (other analyses: every table with a unit_id).
UNIT_TABLES = {"lifecircle": ("lifecircle_by_unit_category",), "greenways": ("greenways_by_unit", "by_unit"),
               "fairness": ("fairness_ranking",), "compounds": ("compounds_coverage_by_unit",),
               "quality": ()}  # the unit's data grade is a card of its page; the measures are in quality_completeness.csv
#: Rows of one unit in a further analysis' table shown on its page.
MAX_UNIT_ROWS = 20
#: Columns of those tables shown on a unit page (the rest are in the CSV files).
UNIT_COLUMNS = {"lifecircle_by_unit_category": ("category", "level", "threshold_m", "facilities", "reached_pct", "median_m")}


def _value_labels(res: Any, lang: str) -> dict[str, dict]:
    """Identifiers of an analysis' table cells (category, level ...) and their labels in ``lang``."""
    rules = getattr(res, "rules", None)
    out: dict[str, dict] = {}
    cats = getattr(rules, "categories", None)
    if cats:
        out["category"] = out["most_missing"] = {c.id: c.text(lang) for c in cats}
    levels = getattr(rules, "levels", None)
    if levels and all(hasattr(x, "text") for x in levels):
        out["level"] = {x.id: x.text(lang) for x in levels}
    return out


def _scope(ctx: PageContext, v: Any) -> str:
    """A scope on a unit page: "all" is the whole unit, not the whole area."""
    return esc(ctx.L("unit_all") if v == "all" else ctx.L(str(v)))


def _serving_parks(ctx: PageContext, uid: Any) -> pd.DataFrame:
    cov = ctx.result.parks
    cells = cov.cells[cov.cells["unit_id"] == uid]
    parks = pd.DataFrame(cov.parks.drop(columns="geometry"))[["park_id", "name", "tier", "area_m2"]]
    frames = []
    if "network" in cov.methods:
        c = cells[cells["net_covered"] & (cells["net_park"] >= 0)]
        frames.append(c.groupby("net_park")["area_m2"].sum().rename("land_served_m2:network"))
    if "euclidean" in cov.methods:
        c = cells[cells["euc_park"] >= 0]
        frames.append(c.groupby("euc_park")["euc_cov_m2"].sum().rename("land_served_m2:euclidean"))
    if not frames:
        return pd.DataFrame()
    d = pd.concat(frames, axis=1).fillna(0.0)
    d.index.name = "park_id"
    d = d.reset_index().merge(parks, on="park_id", how="left")
    tier_lab = {t.id: t.text(ctx.lang) for t in cov.rules.tiers}
    d["tier"] = d["tier"].map(lambda t: tier_lab.get(t, t))
    sort = "land_served_m2:network" if "land_served_m2:network" in d.columns else "land_served_m2:euclidean"
    return d.sort_values(sort, ascending=False).reset_index(drop=True)


def unit_body(ctx: PageContext, uid: Any, name: str, row: pd.Series, prefix: str) -> str:
    """The body of one unit's page; ``prefix`` leads from the page to the folder root."""
    L, T, lang = ctx.L, ctx.T, ctx.lang
    cov = ctx.result.parks
    methods = list(cov.methods)
    cards = [(f"{fmt_pct(row.get(f'land_pct:{m}'))} %", f"{L('land_pct')} · {L(m)}") for m in methods]
    cards += [(f"{fmt_pct(row.get(f'residents_pct:{m}'))} %", f"{L('residents_pct')} · {L(m)}") for m in methods]
    if len(methods) == 2:
        cards.append((fmt_pp(row.get("difference_land_pp")), L("difference_pp")))
    cards += [(fmt_int(row.get("land_m2")), L("land_m2")), (fmt_int(row.get("residents")), L("residents"))]
    if isinstance(row.get("data_grade"), str):  # the completeness grade of the unit's data (the trust analysis)
        cards.append((row.get("data_grade"), L("data_grade")))
    img = f"{prefix}maps/units/{slug(uid)}.png"
    parts = [f"<h1>{esc(name)}</h1>",
             f"<p class='sub'>{esc(ctx.title)} · {esc(L('park_coverage'))} · {esc(ctx.result.config.rules.text(lang))}</p>",
             f"<p class='scope'>{esc(T('report.unit_scope', unit=name))}</p>",
             "<div class='cards'>" + "".join(f"<div class='card'><b>{esc(v)}</b><span>{esc(t)}</span></div>"
                                             for v, t in cards) + "</div>",
             f"<p class='mapimg'><a href='{img}'><img class='map' src='{img}' alt='{esc(name)}'></a></p>",
             f"<p class='muted'>{ctx.print_links(f'units/{slug(uid)}', prefix)}</p>"]
    rows = []
    bu = cov.by_unit[(cov.by_unit["unit_id"] == uid) & (cov.by_unit["tier"] == "all")]
    for t in park_targets(ctx):
        r = bu[(bu["scope"] == t.get("scope", "all")) & (bu["method"] == t.get("method", "euclidean"))]
        col = "land_pct" if t.get("measure", "land") == "land" else "residents_pct"
        v = float(r[col].iloc[0]) if len(r) else float("nan")
        met = None if isnan(v) else bool(v >= float(t["value"]) - 1e-9)
        rows.append({"label": localized(t.get("label"), lang, str(t.get("indicator"))), "value": t["value"],
                     "measured": v, "met": met})
    if rows:
        parts.append(f"<h2>{esc(L('unit_vs_targets'))}</h2>")
        parts.append(html_table(pd.DataFrame(rows), [
            Col("label", L("indicator"), esc, num=False), Col("value", L("required"), lambda v: f"≥ {esc(v)}"),
            Col("measured", L("measured"), fmt_pct), Col("met", L("status"), lambda v: status_cell(v, lang), num=False)]))
    d = cov.by_unit[cov.by_unit["unit_id"] == uid].copy()
    tier_lab = {t.id: t.text(lang) for t in cov.rules.tiers}
    d["tier_label"] = d["tier"].map(lambda t: tier_lab.get(t, T("report.all_tiers") if t == "all" else t))
    cols = [Col("scope", L("scope"), lambda v: _scope(ctx, v), num=False),
            Col("method", L("method"), lambda v: esc(L(v)), num=False),
            Col("land_m2", L("land_m2"), fmt_int), Col("covered_m2", L("covered_m2"), fmt_int),
            Col("land_pct", L("land_pct"), fmt_pct), Col("residents", L("residents"), fmt_int),
            Col("covered_residents", L("covered_residents"), fmt_int), Col("residents_pct", L("residents_pct"), fmt_pct)]
    parts.append(f"<h2>{esc(L('park_coverage'))}</h2>")
    if len(d):
        parts.append(html_table(d[d["tier"] == "all"], cols))
        parts.append(f"<h3>{esc(L('by_tier'))}</h3>"
                     + html_table(d[d["tier"] != "all"], cols[:2] + [Col("tier_label", L("tier"), esc, num=False)] + cols[2:]))
    else:
        parts.append(f"<p class='muted'>{esc(L('no_residential'))}</p>")
    sp = _serving_parks(ctx, uid)
    parts.append(f"<h2>{esc(L('serving_parks'))}</h2>")
    if len(sp):
        pcols = [Col("name", L("name"), name_cell, num=False), Col("tier", L("tier"), name_cell, num=False),
                 Col("area_m2", L("area_m2"), fmt_int)]
        pcols += [Col(f"land_served_m2:{m}", f"{L('land_served_m2')} · {L(m)}", fmt_int) for m in reversed(methods)
                  if f"land_served_m2:{m}" in sp.columns]
        parts.append(html_table(sp.head(MAX_UNIT_ROWS), pcols))
        if len(sp) > MAX_UNIT_ROWS:
            parts.append(f"<p class='muted'>{esc(T('report.first_rows', n=MAX_UNIT_ROWS, total=len(sp)))}</p>")
    else:
        parts.append(f"<p class='muted'>{esc(L('none_found'))}</p>")
    parts.append(_unit_blind_spots(ctx, uid))
    parts.append(_unit_analyses(ctx, uid))
    return "".join(parts)


def _unit_blind_spots(ctx: PageContext, uid: Any) -> str:
    """The unit's blind spots by the default method, the most residents first."""
    L, T = ctx.L, ctx.T
    parts: list[str] = []
    cov = ctx.result.parks
    b = cov.blind_spots
    b = b[(b["method"] == ctx.default_method) & (b["unit_id"] == uid)] if len(b) else b
    parts.append(f"<h2>{esc(L('blind_spots'))} ({esc(L(ctx.default_method))})</h2>")
    if len(b):
        bb = pd.DataFrame(b.drop(columns="geometry")).sort_values("residents", ascending=False)
        parts.append(html_table(bb.head(MAX_UNIT_ROWS), [Col("rank", L("rank"), esc), Col("area_m2", L("area_m2"), fmt_int),
                                                         Col("residents", L("residents"), fmt_int)], cls="compact"))
        if len(bb) > MAX_UNIT_ROWS:
            parts.append(f"<p class='muted'>{esc(T('report.first_rows', n=MAX_UNIT_ROWS, total=len(bb)))}</p>")
    else:
        parts.append(f"<p class='muted'>{esc(L('none_found'))}</p>")
    return "".join(parts)


def _unit_analyses(ctx: PageContext, uid: Any) -> str:
    """The unit's rows of the further analyses' per-unit tables, their identifiers labelled."""
    L, lang = ctx.L, ctx.lang
    parts: list[str] = []
    for aname in ctx.result.analyses:
        shown = []
        wanted = UNIT_TABLES.get(aname)
        for key, df in ctx.analysis_tables(aname).items():
            if wanted is not None and key not in wanted:
                continue
            if isinstance(df, pd.DataFrame) and "unit_id" in df.columns:
                rows_u = df[df["unit_id"].astype(str) == str(uid)].copy()
                if key in UNIT_COLUMNS:
                    rows_u = rows_u[[c for c in UNIT_COLUMNS[key] if c in rows_u.columns]]
                for col, mapping in _value_labels(ctx.result.analyses[aname], lang).items():
                    if col in rows_u.columns:
                        rows_u[col] = rows_u[col].map(lambda v, m=mapping: m.get(v, v))
                if len(rows_u):
                    shown.append(auto_table(pd.DataFrame(rows_u), lang, max_rows=MAX_UNIT_ROWS, scope=aname,
                                            labels=ctx.labels, drop=("unit_id", "unit_name", "model")))
        if shown:
            parts.append(f"<h2>{esc(L(aname))}</h2>" + "".join(shown))
    return "".join(parts)


def write_unit_pages(ctx: PageContext, unit_ids: list) -> None:
    """``units/<unit_id>.html`` per unit and ``units/book.html`` with them all (their maps are drawn elsewhere)."""
    L, lang = ctx.L, ctx.lang
    res = ctx.result
    (ctx.folder / "units").mkdir(exist_ok=True)
    piv = unit_table(ctx).set_index("unit_id", drop=False)
    names = dict(zip(res.study.units["unit_id"], res.study.units["unit_name"]))
    book = []
    for i, uid in enumerate(unit_ids):
        name = str(names.get(uid, uid))
        prev_ = f"<a href='{unit_file(unit_ids[i - 1])}'>{esc(L('previous'))}</a>" if i > 0 else ""
        next_ = f"<a href='{unit_file(unit_ids[i + 1])}'>{esc(L('next'))}</a>" if i + 1 < len(unit_ids) else ""
        nav = f"<nav class='pager'><a href='../index.html'>{esc(L('back_to_index'))}</a>{prev_}{next_}</nav>"
        body = unit_body(ctx, uid, name, piv.loc[uid], "../")
        (ctx.folder / "units" / unit_file(uid)).write_text(
            html_page(f"{name} · {ctx.title}", nav + body, lang, ctx.footer), encoding="utf-8")
        book.append(f"<section class='page' id='u{slug(uid)}'>{body}</section>")
    toc = "".join(f"<a href='#u{slug(u)}'>{esc(names.get(u, u))}</a>" for u in unit_ids)
    nav = f"<nav class='toc'><a href='../index.html'>{esc(L('back_to_index'))}</a>{toc}</nav>"
    (ctx.folder / "units" / "book.html").write_text(
        html_page(f"{ctx.title} · {L('units_page')}", nav + "".join(book), lang, ctx.footer), encoding="utf-8")
