"""Page one of the report: targets, headline figures, one map, the per-unit table and what to do.

It fits on two printed A4 pages (``tests/test_report.py`` prints it in Chromium and counts them).
"""

from __future__ import annotations

import math

import pandas as pd

from ..html import Col, esc, fmt_int, fmt_pct, fmt_pp, html_table, isnan, status_cell
from .context import PageContext, unit_file
from .figures import localized, name_cell, park_targets, unit_table

__all__ = ["page_one", "targets_table", "published_table", "TODO_ROWS"]

#: Rows of each "what to do" list on page one (every row is in the linked CSV file).
TODO_ROWS = 5


def _target_row_note(ctx: PageContext, t: dict) -> str:
    """Why a target is not measured, in plain words."""
    scope = str(t.get("scope", "all"))
    if isnan(t.get("measured")) and scope.endswith("historic") and not ctx.result.parks.has_historic:
        return ctx.T("report.historic_missing")
    return ""


def targets_table(ctx: PageContext) -> str:
    """Each target against its measured value: met, not met or not measured (and why)."""
    L = ctx.L
    rows = ctx.summary.get("targets") or []
    if not rows:
        return f"<p class='muted'>{esc(ctx.T('report.no_targets'))}</p>"
    has_year = any(t.get("year") for t in rows)
    body = []
    for t in rows:
        lab = localized(t.get("label"), ctx.lang, str(t.get("indicator")))
        measured = t.get("measured")
        gap = None if isnan(measured) else float(measured) - float(t["value"])
        notes = [n for n in (localized(t.get("source"), ctx.lang), _target_row_note(ctx, t)) if n]
        note = "".join(f"<br><span class='muted'>{esc(n)}</span>" for n in notes)
        cells = [f"<td>{esc(lab)}{note}</td>",
                 f"<td>{esc(L(str(t.get('scope', 'all'))))}</td>",
                 f"<td>{esc(L(str(t.get('method'))) if t.get('method') else '—')}</td>",
                 f"<td>{esc(L('measure_' + str(t.get('measure', 'land'))))}</td>"]
        if has_year:
            cells.append(f"<td class='num'>{esc(t.get('year') or '—')}</td>")
        cells += [f"<td class='num'>≥ {esc(t['value'])}</td>",
                  f"<td class='num'>{fmt_pct(measured)}</td>",
                  f"<td class='num{' bad' if gap is not None and gap < -1e-9 else ''}'>{fmt_pp(gap)}</td>",
                  f"<td>{status_cell(t.get('met'), ctx.lang)}</td>"]
        body.append("<tr>" + "".join(cells) + "</tr>")
    heads = [L("indicator"), L("scope"), L("method"), L("measure")] + ([L("year")] if has_year else []) + \
            [L("required"), L("measured"), L("gap_pp"), L("status")]
    head = "".join(f"<th>{esc(h)}</th>" for h in heads)
    return (f"<div class='tw'><table class=\"targets\"><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def published(ctx: PageContext) -> list[dict]:
    """The published figures of the configuration (``report: published``), each with this audit's nearest figure."""
    rep = (ctx.result.config.extra or {}).get("report") or {}
    out = []
    for p in rep.get("published") or []:
        if not isinstance(p, dict) or "value" not in p:
            continue
        scope, method, measure = p.get("scope", "all"), p.get("method", "euclidean"), p.get("measure", "land")
        try:
            ours = float(ctx.result.parks.coverage(method, scope, measure))
        except Exception:  # noqa: BLE001 - a scope this audit did not measure (no historic layer)
            ours = math.nan
        out.append({**p, "ours": ours, "scope": scope, "method": method, "measure": measure})
    return out


def published_table(ctx: PageContext, *, full: bool = False) -> str:
    """Published figures beside this audit's: value, year, source and whether they are comparable."""
    rows = published(ctx)
    if not rows:
        return ""
    L = ctx.L
    df = pd.DataFrame([{"label": localized(p.get("label"), ctx.lang), "year": p.get("year"), "value": p["value"],
                        "ours": p["ours"], "method": p["method"], "scope": p["scope"],
                        "source": localized(p.get("source"), ctx.lang),
                        "comparable": localized(p.get("comparable"), ctx.lang)} for p in rows])
    cols = [Col("label", L("published_figure"), esc, num=False), Col("year", L("year"), esc),
            Col("value", L("published_value"), fmt_pct),
            Col("ours", f"{L('this_audit')} · {L('measured')}", fmt_pct),
            Col("method", L("method"), lambda v: esc(L(v)), num=False)]
    if full:
        cols += [Col("source", L("source"), esc, num=False), Col("comparable", L("comparable"), esc, num=False)]
    return html_table(df, cols, cls="compact")


def _cards(ctx: PageContext) -> str:
    L = ctx.L
    cov = ctx.result.parks
    methods = list(cov.methods)
    cards = [(f"{fmt_pct(cov.coverage(m, 'all', 'land'))} %", f"{L('land_pct')} · {L(m)}") for m in methods]
    cards += [(f"{fmt_pct(cov.coverage(m, 'all', 'residents'))} %", f"{L('residents_pct')} · {L(m)}") for m in methods]
    if len(methods) == 2:
        d = cov.coverage("euclidean", "all") - cov.coverage("network", "all")
        cards.append((fmt_pp(d), L("difference_pp")))
    lc = (ctx.summary.get("lifecircle") or {})
    if lc.get("complete_pct"):
        top = list(lc["complete_pct"])[-1]
        cards.append((f"{fmt_pct(lc['complete_pct'][top])} %", ctx.T("report.card_lifecircle", level=_level_text(ctx, top))))
    gw = ctx.summary.get("greenways") or {}
    if gw.get("length_km") is not None:
        cards.append((f"{gw['length_km']:,.1f} km", ctx.L("greenways")))
    return "<div class='cards'>" + "".join(f"<div class='card'><b>{esc(v)}</b><span>{esc(t)}</span></div>"
                                           for v, t in cards) + "</div>"


def _level_text(ctx: PageContext, level_id: str) -> str:
    lc = ctx.result.analyses.get("lifecircle")
    try:
        return lc.rules.level(level_id).text(ctx.lang)
    except Exception:  # noqa: BLE001 - a level id without its rules: show the id
        return level_id


def units_table(ctx: PageContext) -> str:
    """The per-unit table of page one: residents, land and residents covered by each method, blind spots."""
    L = ctx.L
    piv = unit_table(ctx)
    targets = [t for t in park_targets(ctx) if t.get("scope", "all") == "all"]
    thr = min((float(t["value"]) for t in targets), default=None)
    piv["link"] = [f'<a href="units/{unit_file(u)}">{esc(n)}</a>' if ctx.unit_pages else esc(n)
                   for u, n in zip(piv["unit_id"], piv["unit_name"])]
    bad = (lambda v: "bad" if thr is not None and not isnan(v) and float(v) < thr - 1e-9 else "")
    methods = list(ctx.result.parks.methods)
    cols = [Col("link", L("unit_name"), lambda v: v, num=False)]
    if "data_grade" in piv.columns:
        cols.append(Col("data_grade", L("data_grade"), esc, num=False))
    cols.append(Col("residents", L("residents"), fmt_int))
    cols += [Col(f"land_pct:{m}", f"{L('land_pct')} · {L(m)}", fmt_pct, cls=bad) for m in methods]
    cols += [Col(f"residents_pct:{m}", f"{L('residents_pct')} · {L(m)}", fmt_pct, cls=bad) for m in methods]
    cols += [Col("blind_spot_count", f"{L('blind_spot_count')} ({L(ctx.default_method)})", fmt_int),
             Col("blind_spot_residents", L("blind_spot_residents"), fmt_int)]
    note = f"<p class='muted'>{esc(ctx.T('report.below_target', threshold=thr))}</p>" if thr is not None else ""
    return html_table(piv, cols, cls="compact") + note


def _todo(ctx: PageContext) -> str:
    """What to do: the largest blind spots, the proposed pocket-park sites, the missing facilities, the greenway links."""
    L, T = ctx.L, ctx.T
    out = []
    b = ctx.result.parks.blind_spots
    b = b[b["method"] == ctx.default_method] if len(b) else b
    out.append(f"<h3>{esc(T('report.todo_blind_spots', method=L(ctx.default_method)))}</h3>")
    if len(b):
        top = pd.DataFrame(b.drop(columns="geometry")).sort_values("residents", ascending=False).head(TODO_ROWS)
        out.append(html_table(top, [Col("unit_name", L("unit_name"), name_cell, num=False),
                                    Col("area_m2", L("area_m2"), fmt_int), Col("residents", L("residents"), fmt_int)],
                              cls="compact"))
        out.append(f"<p class='muted'>{T('report.more_in', n=len(b), file=_link('tables/blind_spots.csv'))}</p>")
    else:
        out.append(f"<p class='muted'>{esc(L('none_found'))}</p>")
    s = ctx.result.siting
    out.append(f"<h3>{esc(L('pocket_parks'))}</h3>")
    if len(s):
        top = pd.DataFrame(s.drop(columns="geometry")).head(TODO_ROWS)
        out.append(html_table(top, [Col("step", L("step"), esc), Col("name", L("name"), name_cell, num=False),
                                    Col("area_m2", L("area_m2"), fmt_int),
                                    Col("new_residents", L("new_residents"), fmt_int),
                                    Col("residents_pct_after", L("residents_pct_after"), fmt_pct)], cls="compact"))
        out.append(f"<p class='muted'>{T('report.more_in', n=len(s), file=_link('tables/pocket_park_sites.csv'))}</p>")
    else:
        out.append(f"<p class='muted'>{esc(T('report.no_sites'))}</p>")
    items = []
    lc = ctx.summary.get("lifecircle") or {}
    if lc.get("most_missing"):
        key = "label_zh" if ctx.lang == "zh" else "label"
        miss = T("list_separator").join(T("report.missing_item", category=m.get(key) or m.get("category"),
                                          pct=m.get("residents_lacking_pct") or 0) for m in lc["most_missing"][:3])
        items.append(T("report.todo_facilities", missing=miss))
    if lc.get("absent_categories"):
        rules = ctx.result.analyses["lifecircle"].rules
        names = T("list_separator").join(rules.category(c).text(ctx.lang) for c in lc["absent_categories"])
        items.append(T("report.todo_absent", categories=names))
    j = (ctx.summary.get("greenways") or {}).get("joining_links") or {}
    if j.get("count"):
        items.append(T("report.todo_greenways", n=j["count"], total_m=j.get("total_m") or 0,
                       before=j.get("systems_before", "—"), after=j.get("systems_after", "—")))
    if items:
        out.append(f"<h3>{esc(T('report.todo_other'))}</h3><ul>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>")
    return "".join(out)


def _link(path: str) -> str:
    return f"<a href='{esc(path)}'>{esc(path.rsplit('/', 1)[-1])}</a>"


def page_one(ctx: PageContext, toc: list[tuple[str, str]]) -> str:
    """Page one: title, targets and published figures, headline cards, the park map, the units, what to do."""
    L, T = ctx.L, ctx.T
    res = ctx.result
    rd = (ctx.summary.get("residential_land") or {}).get("text") or {}
    sub = " · ".join(x for x in (res.config.rules.text(ctx.lang), " / ".join(L(m) for m in res.parks.methods)) if x)
    nav = "<nav class='toc'>" + "".join(f"<a href='#{a}'>{esc(t)}</a>" for a, t in toc) + "</nav>"
    definition = (f"<p class='muted'>{esc(L('residential'))}: {esc(localized(rd, ctx.lang))}. "
                  f"{esc(T('report.definition_short'))}</p>") if rd else ""
    pub = published_table(ctx)
    pub = f"<h3>{esc(L('published_figures'))}</h3>{pub}<p class='muted'>{esc(T('report.published_see'))}</p>" if pub else ""
    img = ("<p class='mapimg'><a href='maps/park_coverage_A4.png'><img class='map' src='maps/park_coverage_A4.png' "
           f"alt='{esc(L('park_coverage'))}'></a></p>")
    return (f"<section id='page-one' class='page-one'>"
            f"<header><h1>{esc(ctx.title)}</h1><p class='sub'>{esc(sub)}</p></header>{nav}"
            f"<h2 id='targets'>{esc(L('targets'))}</h2>{targets_table(ctx)}{pub}"
            f"<h2 id='headline'>{esc(L('park_coverage'))}</h2>{_cards(ctx)}{definition}{img}"
            f"<h2 id='units'>{esc(L('by_unit'))}</h2>{units_table(ctx)}"
            f"<h2 id='todo'>{esc(L('what_to_do'))}</h2><div class='todo'>{_todo(ctx)}</div>"
            f"</section>")


