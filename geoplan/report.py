"""Maps and the HTML report of an audit folder, in Chinese or English.

:func:`write_maps_and_report` (called by :func:`geoplan.outputs.write_audit`)
writes, beside the tables and the GeoPackage::

    index.html                  the report: each target met or not, coverage by both
                                methods and their difference, per-unit table, maps,
                                further analyses, files, method notes
    units/<unit_id>.html        one page per unit ("one map, one page"), printable on A4
    units/book.html             every unit page in one printable file
    map.html                    the interactive map (opens offline, every asset inlined)
    maps/park_coverage_A4.png   print map, A4 landscape
    maps/park_coverage_A3.pdf   print map, A3 landscape (vector)
    maps/units/<unit_id>.png    each unit's map
    maps/<analysis>_A4.png      each further analysis' map

Every page is self-contained HTML (inline CSS, no script, no web font), so the
folder can be zipped, mailed and opened offline.  Every label, legend, table
header and sentence follows ``lang``.
"""

from __future__ import annotations

import datetime as _dt
import re
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from . import presenters
from ._version import __version__
from .errors import GeoplanWarning
from .i18n import has_label, label, text
from .parks import coverage_status
from .presenters.audit_maps import (
    PRINT_DPI,
    STATUS_COLOURS,
    UNIT_MAP_DPI,
    UNIT_MAP_MARGIN_M,
    MapJob,
    MapRenderer,
    audit_map_layers,
    basemap_layers,
    print_map_jobs,
    render_map_job,
    unit_map_jobs,
    unit_map_layers,
    write_interactive_map,
)
from .presenters.html import (
    Col,
    auto_table,
    html_table,
)
from .presenters.html import auto_fmt as _auto_fmt
from .presenters.html import esc as _esc
from .presenters.html import fmt_int as _int
from .presenters.html import isnan as _isnan
from .presenters.html import fmt_pct as _pct
from .presenters.html import fmt_pp as _pp
from .presenters.html import page as _page
from .presenters.html import status_cell as _status_cell

__all__ = [
    "PRINT_DPI",
    "STATUS_COLOURS",
    "UNIT_MAP_DPI",
    "UNIT_MAP_MARGIN_M",
    "Col",
    "MapJob",
    "MapRenderer",
    "audit_map_layers",
    "auto_table",
    "basemap_layers",
    "html_table",
    "render_map_job",
    "unit_map_layers",
    "write_maps_and_report",
]

# =====================================================================  the report
@dataclass
class _Ctx:
    """What every page needs."""

    result: Any
    folder: Path
    lang: str
    summary: dict
    tables: dict
    status: gpd.GeoDataFrame
    title: str
    area_name: str
    footer: str
    default_method: str
    _tables: dict = field(default_factory=dict)

    labels: dict = field(default_factory=dict)

    def L(self, key: str, scope: str | None = None) -> str:
        return label(key, self.lang, scope, self.labels)

    def analysis_tables(self, name: str) -> dict:
        """The tables of a further analysis (asked once; a failure is warned about once)."""
        if name not in self._tables:
            a = self.result.analyses[name]
            try:
                self._tables[name] = dict(a.tables())
            except Exception as exc:  # noqa: BLE001 - an analysis' tables must not cost the whole report
                warnings.warn(f"{name}: its tables failed ({exc}).", GeoplanWarning, stacklevel=2)
                self._tables[name] = {}
        return self._tables[name]


def _area_name(result: Any) -> str:
    rep = (result.config.extra or {}).get("report") or {}
    if rep.get("area"):
        return str(rep["area"])
    if (result.study.provenance or {}).get("place"):  # an extract written by geoplan fetch names its place
        return str(result.study.provenance["place"])
    src = result.config.inputs.pbf or (result.study.provenance or {}).get("osm")
    return Path(str(src)).name.split(".")[0] if src else ""


def _report_title(result: Any, lang: str, area: str) -> str:
    rep = (result.config.extra or {}).get("report") or {}
    t = rep.get("title")
    if isinstance(t, dict):
        t = t.get(lang) or t.get("en")
    if t:
        return str(t)
    return f"{area} · {label('report_title', lang)}" if area else label("report_title", lang)


def write_maps_and_report(result: Any, folder: Path, lang: str, *, tables: dict, summary: dict,
                          progress: Callable[[str], None] | None = None, quiet: bool | None = None,
                          unit_pages: bool = True, workers: int | None = None,
                          labels: dict | None = None) -> dict:
    """Write the interactive map, the print maps, the unit pages and ``index.html`` into ``folder``.

    The static maps (the slow part) are drawn by a pool of worker processes
    while this process writes the interactive map and the pages.

    Parameters
    ----------
    result : AuditResult
    folder : Path
        The (temporary) output folder; tables and GeoPackage are already there.
    lang : {"zh", "en"}
    tables : dict of DataFrame
        :func:`geoplan.outputs.audit_tables` of the result (file name -> table).
    summary : dict
        :func:`geoplan.outputs.audit_summary` of the result.
    progress : callable, optional
        ``progress(step)`` before each step.
    quiet : bool, optional
        True: no progress bar; False: a bar on stderr; None: a bar when
        ``progress`` is given and stderr is a terminal.
    unit_pages : bool
        Write a page and a map per unit.
    workers : int, optional
        Processes drawing the static maps; default: :func:`geoplan.settings.default_workers`
        (the ``GEOPLAN_WORKERS`` environment variable, else up to 4, one per CPU; 1 inside
        a daemonic process such as a Dask worker); 1 draws them here.
    labels : dict, optional
        Rule-dependent column labels (default: :func:`geoplan.presenters.labels` of the result).

    Returns
    -------
    dict
        Seconds per step (also added to ``result.timings`` as ``report: <step>``).
    """
    say = progress or (lambda m: None)
    if quiet is None and progress is None:
        quiet = True  # a caller that asks for no progress gets no progress bar either
    folder = Path(folder)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    status = coverage_status(result.parks)
    area = _area_name(result)
    footer = (f"© OpenStreetMap contributors (ODbL) · geoplan {__version__} · "
              f"{_esc(label('generated', lang))} {_dt.date.today().isoformat()}")
    ctx = _Ctx(result, folder, lang, summary, tables, status, _report_title(result, lang, area), area, footer,
               "network" if "network" in result.parks.methods else "euclidean",
               labels=presenters.labels(result) if labels is None else dict(labels))
    (folder / "maps").mkdir(exist_ok=True)
    unit_ids = list(result.study.units["unit_id"]) if unit_pages else []

    say("drawing the print maps" + (f" and {len(unit_ids)} unit maps" if unit_ids else ""))
    t = time.perf_counter()
    jobs = _print_map_jobs(ctx) + _unit_map_jobs(ctx, unit_ids)
    timings["map layers"] = time.perf_counter() - t
    with MapRenderer(jobs, workers=workers, quiet=quiet, desc=label("maps", lang)) as renderer:
        say("drawing the interactive map")
        t = time.perf_counter()
        _interactive(ctx)
        timings["interactive map"] = time.perf_counter() - t
        if unit_ids:
            say(f"writing {len(unit_ids)} unit pages")
            t = time.perf_counter()
            _unit_pages(ctx, unit_ids)
            timings["unit pages"] = time.perf_counter() - t
        t = time.perf_counter()
        drawn = renderer.wait()
        timings["waiting for the static maps"] = time.perf_counter() - t
    analysis_maps = {j.key: j.rel for j in jobs if j.key and j.rel in drawn}
    t = time.perf_counter()
    (folder / "index.html").write_text(_index(ctx, analysis_maps, bool(unit_ids)), encoding="utf-8")
    timings["index"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    timings["static maps (sum over workers)"] = renderer.busy_s
    for k, v in timings.items():
        result.timings[f"report: {k}"] = round(v, 3)
    return timings


# ---------------------------------------------------------------------------- maps
# What each map shows and how it is drawn: geoplan.presenters.audit_maps.
def _interactive(ctx: _Ctx) -> None:
    write_interactive_map(ctx.result, ctx.folder, ctx.lang, title=ctx.title, status=ctx.status)


def _print_map_jobs(ctx: _Ctx) -> list[MapJob]:
    return print_map_jobs(ctx.result, ctx.folder, ctx.lang, area_name=ctx.area_name)


def _unit_map_jobs(ctx: _Ctx, unit_ids: list) -> list[MapJob]:
    if not unit_ids:
        return []
    L = ctx.L
    piv = _unit_table(ctx).set_index("unit_id", drop=False)
    subtitles = {uid: f"{L('land_covered')}: " + " · ".join(
        f"{L(m)} {_pct(piv.loc[uid].get(f'land_pct:{m}'))} %" for m in ctx.result.parks.methods) for uid in unit_ids}
    return unit_map_jobs(ctx.result, ctx.folder, ctx.lang, unit_ids, subtitles=subtitles, status=ctx.status)



def _slug(v: Any) -> str:
    s = re.sub(r"[^0-9A-Za-z_\-\u4e00-\u9fff]+", "_", str(v)).strip("_")
    return s or "unit"


def _unit_file(uid: Any) -> str:
    return f"{_slug(uid)}.html"


# --------------------------------------------------------------------------- index
def _targets_html(ctx: _Ctx) -> str:
    L, lang = ctx.L, ctx.lang
    rows = ctx.summary.get("targets") or []
    if not rows:
        return f"<p class='muted'>{_esc(L('none_found'))}</p>"
    has_year = any(t.get("year") for t in rows)
    has_hist = ctx.result.parks.has_historic
    body = []
    for t in rows:
        lab = (t.get("label") or {}).get(lang) or (t.get("label") or {}).get("en") or t.get("indicator")
        measured = t.get("measured")
        gap = None if _isnan(measured) else float(measured) - float(t["value"])
        note = ""
        if _isnan(measured) and str(t.get("scope", "all")).endswith("historic") and not has_hist:
            note = f"<br><span class='muted'>{_esc(L('historic_missing'))}</span>"
        cells = [f"<td>{_esc(lab)}{note}</td>",
                 f"<td>{_esc(L(str(t.get('scope', 'all'))))}</td>",
                 f"<td>{_esc(L(str(t.get('method', ''))) if t.get('method') else '—')}</td>",
                 f"<td>{_esc(L('measure_' + str(t.get('measure', 'land'))))}</td>"]
        if has_year:
            cells.append(f"<td class='num'>{_esc(t.get('year') or '—')}</td>")
        cells += [f"<td class='num'>≥ {_esc(t['value'])}</td>",
                  f"<td class='num'>{_pct(measured)}</td>",
                  f"<td class='num{' bad' if gap is not None and gap < -1e-9 else ''}'>{_pp(gap)}</td>",
                  f"<td>{_status_cell(t.get('met'), lang)}</td>"]
        body.append("<tr>" + "".join(cells) + "</tr>")
    heads = [L("indicator"), L("scope"), L("method"), L("measure")] + ([L("year")] if has_year else []) + \
            [L("required"), L("measured"), L("gap_pp"), L("status")]
    head = "".join(f"<th>{_esc(h)}</th>" for h in heads)
    return (f"<div class='tw'><table class=\"targets\"><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(body)}</tbody></table></div>")


def _method_pivot(df: pd.DataFrame, methods: Sequence[str], keys: list[str]) -> pd.DataFrame:
    """One row per ``keys``, columns ``land_pct:<method>``, ``residents_pct:<method>`` and the differences."""
    d = df[df["tier"] == "all"]
    out = d.pivot_table(index=keys, columns="method", values=["land_pct", "residents_pct"], aggfunc="first")
    out.columns = [f"{v}:{m}" for v, m in out.columns]
    # pivot_table drops columns that are all NaN (no residents known): keep every method's column
    out = out.reindex(columns=[f"{v}:{m}" for v in ("land_pct", "residents_pct") for m in methods]).reset_index()
    base = d[d["method"] == methods[0]].set_index(keys)[["land_m2", "residents"]]
    out = out.merge(base.reset_index(), on=keys, how="left")
    if set(methods) == {"euclidean", "network"}:
        out["difference_land_pp"] = out["land_pct:euclidean"] - out["land_pct:network"]
        out["difference_residents_pp"] = out["residents_pct:euclidean"] - out["residents_pct:network"]
    return out


def _coverage_cols(ctx: _Ctx, first: list[Col]) -> list[Col]:
    L = ctx.L
    methods = list(ctx.result.parks.methods)
    cols = list(first)
    for m in methods:
        cols.append(Col(f"land_pct:{m}", f"{L('land_pct')} · {L(m)}", _pct))
    if len(methods) == 2:
        cols.append(Col("difference_land_pp", L("difference_land_pp"), _pp))
    for m in methods:
        cols.append(Col(f"residents_pct:{m}", f"{L('residents_pct')} · {L(m)}", _pct))
    if len(methods) == 2:
        cols.append(Col("difference_residents_pp", L("difference_residents_pp"), _pp))
    return cols


def _overview_html(ctx: _Ctx) -> str:
    L = ctx.L
    cov = ctx.result.parks
    methods = list(cov.methods)
    cards = []
    for m in methods:
        cards.append(f"<div class='card'><b>{_pct(cov.coverage(m, 'all', 'land'))} %</b>"
                     f"<span>{_esc(L('land_pct'))} · {_esc(L(m))}</span></div>")
    for m in methods:
        cards.append(f"<div class='card'><b>{_pct(cov.coverage(m, 'all', 'residents'))} %</b>"
                     f"<span>{_esc(L('residents_pct'))} · {_esc(L(m))}</span></div>")
    if len(methods) == 2:
        d = cov.coverage("euclidean", "all") - cov.coverage("network", "all")
        cards.append(f"<div class='card'><b>{_pp(d)}</b><span>{_esc(L('difference_pp'))}</span></div>")
    piv = _method_pivot(cov.overall, methods, ["scope"])
    order = {s: i for i, s in enumerate(("all", "outside_historic", "inside_historic"))}
    piv = piv.sort_values("scope", key=lambda s: s.map(order)).reset_index(drop=True)
    cols = _coverage_cols(ctx, [Col("scope", L("scope"), lambda v: _esc(L(v)), num=False),
                                Col("land_m2", L("land_m2"), _int), Col("residents", L("residents"), _int)])
    tiers = cov.overall.copy()
    tier_lab = {t.id: t.text(ctx.lang) for t in cov.rules.tiers}
    tiers["tier_label"] = tiers["tier"].map(lambda t: tier_lab.get(t, L(t)))
    tcols = [Col("scope", L("scope"), lambda v: _esc(L(v)), num=False),
             Col("method", L("method"), lambda v: _esc(L(v)), num=False),
             Col("tier_label", L("tier"), _esc, num=False),
             Col("covered_m2", L("covered_m2"), _int), Col("land_pct", L("land_pct"), _pct),
             Col("covered_residents", L("covered_residents"), _int), Col("residents_pct", L("residents_pct"), _pct)]
    pk = ctx.summary.get("parks", {})
    return (_residential_html(ctx) + f"<div class='cards'>{''.join(cards)}</div>" + html_table(piv, cols) +
            f"<details><summary>{_esc(L('by_tier'))}</summary>{html_table(tiers, tcols)}</details>"
            f"<p class='muted'>{_esc(L('definition'))}: {_esc(ctx.summary.get('definition', ''))}. "
            f"{_esc(L('parks_found'))}: {pk.get('found', '—')}; {_esc(L('parks_counted'))}: {pk.get('counted', '—')}.</p>")


def _residential_html(ctx: _Ctx) -> str:
    """Which residential land the figures are measured on and, with inferred land, coverage on each source."""
    L = ctx.L
    rd = ctx.summary.get("residential_land") or {}
    definition = (rd.get("text") or {}).get(ctx.lang) or ""
    out = f"<p><b>{_esc(L('residential'))}:</b> {_esc(definition)}.</p>" if definition else ""
    bs = getattr(ctx.result.parks, "by_source", None)
    if bs is None or not len(bs):
        return out
    methods = list(ctx.result.parks.methods)
    piv = _method_pivot(bs[bs["scope"] == "all"], methods, ["residential_source"])
    order = {"mapped": 0, "inferred": 1, "both": 2}
    piv = piv.sort_values("residential_source", key=lambda s: s.map(order)).reset_index(drop=True)
    cols = _coverage_cols(ctx, [Col("residential_source", L("residential"),
                                    lambda v: _esc(text(f"residential.source_{v}", ctx.lang)), num=False),
                                Col("land_m2", L("land_m2"), _int), Col("residents", L("residents"), _int)])
    return out + html_table(piv, cols)


def _unit_table(ctx: _Ctx) -> pd.DataFrame:
    """Per-unit coverage by both methods, their difference and the blind spots, in unit order."""
    cov = ctx.result.parks
    bu = cov.by_unit[cov.by_unit["scope"] == "all"]
    piv = _method_pivot(bu, list(cov.methods), ["unit_id", "unit_name"])
    b = cov.blind_spots
    if len(b):
        b = b[b["method"] == ctx.default_method]
        agg = b.groupby("unit_id").agg(blind_spot_count=("rank", "size"), blind_spot_m2=("area_m2", "sum")).reset_index()
        piv = piv.merge(agg, on="unit_id", how="left")
    else:
        piv["blind_spot_count"] = 0
        piv["blind_spot_m2"] = 0.0
    piv["blind_spot_count"] = piv["blind_spot_count"].fillna(0)
    piv["blind_spot_m2"] = piv["blind_spot_m2"].fillna(0.0)
    units = ctx.result.study.units[["unit_id", "unit_name"]]
    piv = units.merge(piv.drop(columns="unit_name"), on="unit_id", how="left")
    q = ctx.result.analyses.get("quality")
    if q is not None:  # the completeness grade of the data beside the unit's figures
        piv = piv.merge(q.grades(), on="unit_id", how="left")
    return piv


def _park_targets(ctx: _Ctx) -> list[dict]:
    return [t for t in (ctx.summary.get("targets") or []) if t.get("indicator") == "park_coverage"]


def _units_html(ctx: _Ctx, pages: bool) -> str:
    L = ctx.L
    piv = _unit_table(ctx)
    targets = [t for t in _park_targets(ctx) if t.get("scope", "all") == "all"]
    thr = min((float(t["value"]) for t in targets), default=None)

    piv["link"] = [f'<a href="units/{_unit_file(u)}">{_esc(n)}</a>' if pages else _esc(n)
                   for u, n in zip(piv["unit_id"], piv["unit_name"])]
    bad = (lambda v: "bad" if thr is not None and not _isnan(v) and float(v) < thr - 1e-9 else "")
    first = [Col("unit_id", L("unit_id"), _esc), Col("link", L("unit_name"), lambda v: v, num=False)]
    if "data_grade" in piv.columns:
        first.append(Col("data_grade", L("data_grade"), _esc, num=False))
    cols = _coverage_cols(ctx, [*first, Col("land_m2", L("land_m2"), _int), Col("residents", L("residents"), _int)])
    for c in cols:
        if c.key.startswith(("land_pct:", "residents_pct:")):
            c.cls = bad
    cols += [Col("blind_spot_count", f"{L('blind_spot_count')} ({L(ctx.default_method)})", _int),
             Col("blind_spot_m2", L("blind_spot_m2"), _int)]
    note = ""
    if thr is not None:
        note = f"<p class='muted'>{_esc(text('report.below_target', ctx.lang, threshold=thr))}</p>"
    return html_table(piv, cols) + note


def _parks_html(ctx: _Ctx) -> str:
    L, lang = ctx.L, ctx.lang
    cov = ctx.result.parks
    out = []
    p = pd.DataFrame(cov.parks.drop(columns="geometry"))
    tier_lab = {t.id: t.text(lang) for t in cov.rules.tiers}
    p = p[p["tier"].notna()].copy()
    p["tier"] = p["tier"].map(lambda t: tier_lab.get(t, t))
    p = p.sort_values("area_m2", ascending=False)
    out.append(f"<h3>{_esc(L('parks'))}</h3>")
    out.append(auto_table(p[[c for c in ("park_id", "name", "area_m2", "tier", "radius_m", "in_historic") if c in p.columns]],
                          lang, file="tables/parks.csv"))
    b = cov.blind_spots
    out.append(f"<h3>{_esc(L('blind_spots'))} ({_esc(L(ctx.default_method))})</h3>")
    if len(b):
        b = pd.DataFrame(b[b["method"] == ctx.default_method].drop(columns="geometry"))
        out.append(auto_table(b[["rank", "unit_name", "area_m2", "residents"]], lang, max_rows=10, file="tables/blind_spots.csv"))
    else:
        out.append(f"<p class='muted'>{_esc(L('none_found'))}</p>")
    if len(ctx.result.siting):
        s = pd.DataFrame(ctx.result.siting.drop(columns="geometry"))
        s["tier"] = s["tier"].map(lambda t: tier_lab.get(t, t))
        out.append(f"<h3>{_esc(L('pocket_parks'))}</h3>")
        out.append(auto_table(s, lang, file="tables/pocket_park_sites.csv", drop=("osm_id",)))
    return "".join(out)


def _flatten(d: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Scalar leaves of a nested summary as (dotted key, value); lists of scalars are joined."""
    out: list[tuple[str, Any]] = []
    if isinstance(d, dict):
        for k, v in d.items():
            out += _flatten(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(d, (list, tuple)):
        if all(not isinstance(x, (dict, list, tuple)) for x in d) and len(d) <= 12:
            out.append((prefix, ", ".join(str(x) for x in d)))
    else:
        out.append((prefix, d))
    return out


def _table_title(name: str, key: str, lang: str) -> str:
    """Human title of an analysis table: its label, else its key without the analysis prefix."""
    if has_label(key, name):
        return label(key, lang, name)
    short = key[len(name) + 1:] if key.startswith(name + "_") else key
    return label(short, lang, name) if has_label(short, name) else short.replace("_", " ")


def _analysis_table_name(name: str, key: str) -> str:
    return key if key.startswith(name) else f"{name}_{key}"


def _analyses_html(ctx: _Ctx, maps: dict[str, str]) -> str:
    L, lang = ctx.L, ctx.lang
    parts = []
    for name, a in ctx.result.analyses.items():
        parts.append(f"<h2 id='analysis-{_slug(name)}'>{_esc(L(name))}</h2>")
        try:
            head = presenters.headline(a, lang)
        except Exception:  # noqa: BLE001 - a headline is optional decoration
            head = None
        if head:
            parts.append(f"<p><b>{_esc(head)}</b></p>")
        summ = ctx.summary.get(name)
        if isinstance(summ, dict):
            leaves = [(k, v) for k, v in _flatten(summ) if isinstance(v, (int, float, str, bool)) and v is not None]
            if leaves:
                df = pd.DataFrame({"figure": [ctx.L(k.split(".")[-1], name) if has_label(k.split(".")[-1], name, ctx.labels)
                                              else k for k, _ in leaves],
                                   "value": [v for _, v in leaves], "key": [k for k, _ in leaves]})
                df["value"] = [_auto_fmt(k.split(".")[-1], v, lang) for k, v in leaves]
                parts.append(f"<details{' open' if len(leaves) <= 24 else ''}><summary>{_esc(L('key_figures'))}</summary>" + html_table(
                    df, [Col("figure", L("figure"), _esc, num=False), Col("value", L("value"), lambda v: v)]) + "</details>")
        if name in maps:
            parts.append(f"<p><a href='{maps[name]}'><img class='map' src='{maps[name]}' alt='{_esc(L(name))}'></a></p>")
        for title, path in presenters.figures(a, ctx.folder, lang):
            parts.append(f"<h3>{_esc(title)}</h3><img class='map' src='{_esc(str(path))}' alt='{_esc(title)}'>")
        for key, df in ctx.analysis_tables(name).items():
            fname = _analysis_table_name(name, key)
            parts.append(f"<h3>{_esc(_table_title(name, key, lang))}</h3>")
            parts.append(auto_table(pd.DataFrame(df), lang, file=f"tables/{fname}.csv", scope=name, labels=ctx.labels))
    return "".join(parts)


def _files_html(ctx: _Ctx, pages: bool) -> str:
    L = ctx.L
    items = [("map.html", L("interactive_map")), ("audit.xlsx", L("workbook")), ("geoplan.gpkg", L("geopackage")),
             ("summary.json", L("summary_json")), ("geoplan.log", L("log_file"))]
    if pages:
        items.insert(1, ("units/book.html", L("unit_book")))
    if ctx.result.population.grid is not None:
        items.append(("population.tif", f"{L('population_note')} (GeoTIFF)"))
    lis = "".join(f"<li><a href='{f}'>{_esc(t)}</a> <span class='muted'>{f}</span></li>" for f, t in items)
    csvs = "".join(f"<li><a href='tables/{_esc(n)}.csv'>{_esc(n)}.csv</a></li>" for n in ctx.tables)
    return f"<ul>{lis}</ul><h3>{_esc(L('tables_csv'))}</h3><ul class='files'>{csvs}</ul>"


def _method_html(ctx: _Ctx) -> str:
    L, lang = ctx.L, ctx.lang
    s = ctx.summary
    r = ctx.result.config.rules
    tiers = pd.DataFrame([{"tier": t.text(lang), "min_area_m2": t.min_area_m2,
                           "radius_m": t.radius_m, "in_historic": bool(t.within_historic)} for t in r.tiers])
    rows = [(L("rules"), f"{r.text(lang)} — {r.basis} ({r.source})"),
            (L("method"), ", ".join(L(m) for m in ctx.result.parks.methods)),
            (L("definition"), s.get("definition", "")),
            (L("population_note"), (s.get("population") or {}).get("note", "")),
            (L("crs"), s.get("crs", "")),
            (L("network_size"), f"{(s.get('network') or {}).get('nodes', '—')} nodes, "
                                f"{(s.get('network') or {}).get('edges', '—')} edges, "
                                f"{(s.get('network') or {}).get('length_km', 0):.1f} km"),
            (L("software"), f"geoplan {s.get('geoplan_version', '')}")]
    rows += [(f"{L('inputs')}: {k}", v) for k, v in (s.get("inputs") or {}).items()]
    body = "".join(f"<tr><th>{_esc(k)}</th><td>{_esc(v)}</td></tr>" for k, v in rows)
    return (f"<table>{body}</table><h3>{_esc(L('tier'))}</h3>" + auto_table(tiers, lang))


def _index(ctx: _Ctx, analysis_maps: dict[str, str], pages: bool) -> str:
    L = ctx.L
    toc = [("targets", L("targets")), ("overview", L("park_coverage")), ("units", L("by_unit")), ("maps", L("maps")),
           ("parks", L("parks"))]
    toc += [(f"analysis-{_slug(n)}", L(n)) for n in ctx.result.analyses]
    toc += [("files", L("downloads")), ("method", L("method_notes"))]
    nav = "<nav class='toc'>" + "".join(f"<a href='#{a}'>{_esc(t)}</a>" for a, t in toc) + "</nav>"
    maps = (f"<p><a href='map.html'>{_esc(L('interactive_map'))}</a> · "
            f"<a href='maps/park_coverage_A4.png'>{_esc(L('print_map_a4'))}</a> · "
            f"<a href='maps/park_coverage_A3.pdf'>{_esc(L('print_map_a3'))}</a></p>"
            f"<a href='maps/park_coverage_A4.png'><img class='map' src='maps/park_coverage_A4.png' "
            f"alt='{_esc(L('park_coverage'))}'></a>")
    book = f"<p><a href='units/book.html'>{_esc(L('unit_book'))}</a></p>" if pages else ""
    body = (f"<header><h1>{_esc(ctx.title)}</h1><p class='sub'>{_esc(ctx.result.config.rules.text(ctx.lang))} · "
            f"{_esc(', '.join(L(m) for m in ctx.result.parks.methods))}</p></header>{nav}"
            f"<h2 id='targets'>{_esc(L('targets'))}</h2>{_targets_html(ctx)}"
            f"<h2 id='overview'>{_esc(L('park_coverage'))}</h2>{_overview_html(ctx)}"
            f"<h2 id='units'>{_esc(L('by_unit'))}</h2>{_units_html(ctx, pages)}{book}"
            f"<h2 id='maps'>{_esc(L('maps'))}</h2>{maps}"
            f"<h2 id='parks'>{_esc(L('parks'))}</h2>{_parks_html(ctx)}"
            f"{_analyses_html(ctx, analysis_maps)}"
            f"<h2 id='files'>{_esc(L('downloads'))}</h2>{_files_html(ctx, pages)}"
            f"<h2 id='method'>{_esc(L('method_notes'))}</h2>{_method_html(ctx)}")
    return _page(ctx.title, body, ctx.lang, ctx.footer)


# ---------------------------------------------------------------------- unit pages
def _serving_parks(ctx: _Ctx, uid: Any) -> pd.DataFrame:
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


def _grade_card(ctx: _Ctx, piv_row: pd.Series) -> list[str]:
    """The data completeness grade of a unit as a card (none when the trust analysis did not run)."""
    g = piv_row.get("data_grade")
    return [f"<div class='card'><b>{_esc(g)}</b><span>{_esc(ctx.L('data_grade'))}</span></div>"] if isinstance(g, str) else []


def _unit_body(ctx: _Ctx, uid: Any, name: str, piv_row: pd.Series, prefix: str) -> str:
    """The body of one unit page; ``prefix`` leads from the page to the folder root."""
    L, lang = ctx.L, ctx.lang
    cov = ctx.result.parks
    methods = list(cov.methods)
    cards = []
    for m in methods:
        cards.append(f"<div class='card'><b>{_pct(piv_row.get(f'land_pct:{m}'))} %</b>"
                     f"<span>{_esc(L('land_pct'))} · {_esc(L(m))}</span></div>")
    for m in methods:
        cards.append(f"<div class='card'><b>{_pct(piv_row.get(f'residents_pct:{m}'))} %</b>"
                     f"<span>{_esc(L('residents_pct'))} · {_esc(L(m))}</span></div>")
    if len(methods) == 2:
        cards.append(f"<div class='card'><b>{_pp(piv_row.get('difference_land_pp'))}</b>"
                     f"<span>{_esc(L('difference_pp'))}</span></div>")
    cards.append(f"<div class='card'><b>{_int(piv_row.get('land_m2'))}</b><span>{_esc(L('land_m2'))}</span></div>")
    cards.append(f"<div class='card'><b>{_int(piv_row.get('residents'))}</b><span>{_esc(L('residents'))}</span></div>")
    cards += _grade_card(ctx, piv_row)
    img = f"{prefix}maps/units/{_slug(uid)}.png"
    parts = [f"<h1>{_esc(name)}</h1>",
             f"<p class='sub'>{_esc(ctx.title)} · {_esc(L('park_coverage'))} · {_esc(ctx.result.config.rules.text(lang))}</p>",
             f"<div class='cards'>{''.join(cards)}</div>",
             f"<a href='{img}'><img class='map' src='{img}' alt='{_esc(name)}'></a>"]
    # unit against the targets
    rows = []
    bu = cov.by_unit[(cov.by_unit["unit_id"] == uid) & (cov.by_unit["tier"] == "all")]
    for t in _park_targets(ctx):
        r = bu[(bu["scope"] == t.get("scope", "all")) & (bu["method"] == t.get("method", "euclidean"))]
        v = float(r[f"{'land' if t.get('measure', 'land') == 'land' else 'residents'}_pct"].iloc[0]) if len(r) else float("nan")
        met = None if _isnan(v) else bool(v >= float(t["value"]) - 1e-9)
        lab = (t.get("label") or {}).get(lang) or (t.get("label") or {}).get("en") or t.get("indicator")
        rows.append({"label": lab, "value": t["value"], "measured": v, "met": met})
    if rows:
        parts.append(f"<h2>{_esc(L('unit_vs_targets'))}</h2>")
        parts.append(html_table(pd.DataFrame(rows), [
            Col("label", L("indicator"), _esc, num=False), Col("value", L("required"), lambda v: f"≥ {_esc(v)}"),
            Col("measured", L("measured"), _pct), Col("met", L("status"), lambda v: _status_cell(v, lang), num=False)]))
    # coverage by scope and tier
    d = cov.by_unit[cov.by_unit["unit_id"] == uid].copy()
    tier_lab = {t.id: t.text(lang) for t in cov.rules.tiers}
    d["tier_label"] = d["tier"].map(lambda t: tier_lab.get(t, L(t)))
    cols = [Col("scope", L("scope"), lambda v: _esc(L(v)), num=False),
            Col("method", L("method"), lambda v: _esc(L(v)), num=False),
            Col("land_m2", L("land_m2"), _int), Col("covered_m2", L("covered_m2"), _int),
            Col("land_pct", L("land_pct"), _pct), Col("residents", L("residents"), _int),
            Col("covered_residents", L("covered_residents"), _int), Col("residents_pct", L("residents_pct"), _pct)]
    parts.append(f"<h2>{_esc(L('park_coverage'))}</h2>")
    if len(d):
        parts.append(html_table(d[d["tier"] == "all"], cols))
        parts.append(f"<details><summary>{_esc(L('by_tier'))}</summary>"
                     + html_table(d[d["tier"] != "all"], cols[:2] + [Col("tier_label", L("tier"), _esc, num=False)] + cols[2:])
                     + "</details>")
    else:
        parts.append(f"<p class='muted'>{_esc(L('no_residential'))}</p>")
    sp = _serving_parks(ctx, uid)
    parts.append(f"<h2>{_esc(L('serving_parks'))}</h2>")
    if len(sp):
        cols = [Col("name", L("name"), lambda v: "—" if _isnan(v) else _esc(v), num=False),
                Col("tier", L("tier"), lambda v: "—" if _isnan(v) else _esc(v), num=False),
                Col("area_m2", L("area_m2"), _int)]
        cols += [Col(f"land_served_m2:{m}", f"{L('land_served_m2')} · {L(m)}", _int) for m in reversed(methods)
                 if f"land_served_m2:{m}" in sp.columns]
        parts.append(html_table(sp, cols))
    else:
        parts.append(f"<p class='muted'>{_esc(L('none_found'))}</p>")
    b = cov.blind_spots
    b = b[(b["method"] == ctx.default_method) & (b["unit_id"] == uid)] if len(b) else b
    parts.append(f"<h2>{_esc(L('blind_spots'))} ({_esc(L(ctx.default_method))})</h2>")
    if len(b):
        parts.append(auto_table(pd.DataFrame(b.drop(columns="geometry"))[["rank", "area_m2", "residents"]], lang, max_rows=None))
    else:
        parts.append(f"<p class='muted'>{_esc(L('none_found'))}</p>")
    # further analyses: the rows of their per-unit tables
    for aname in ctx.result.analyses:
        shown = []
        for key, df in ctx.analysis_tables(aname).items():
            if isinstance(df, pd.DataFrame) and "unit_id" in df.columns:
                rows_u = df[df["unit_id"] == uid]
                if len(rows_u):
                    shown.append(f"<h3>{_esc(_table_title(aname, key, lang))}</h3>" + auto_table(pd.DataFrame(rows_u), lang, max_rows=None,
                                                                         drop=("unit_id", "unit_name")))
        if shown:
            parts.append(f"<h2>{_esc(L(aname))}</h2>" + "".join(shown))
    return "".join(parts)


def _unit_pages(ctx: _Ctx, unit_ids: list) -> None:
    """``units/<unit_id>.html`` per unit and ``units/book.html`` with them all (maps drawn elsewhere)."""
    L, lang = ctx.L, ctx.lang
    res = ctx.result
    (ctx.folder / "units").mkdir(exist_ok=True)
    piv = _unit_table(ctx).set_index("unit_id", drop=False)
    names = dict(zip(res.study.units["unit_id"], res.study.units["unit_name"]))
    book = []
    for i, uid in enumerate(unit_ids):
        name = str(names.get(uid, uid))
        row = piv.loc[uid]
        prev_ = f"<a href='{_unit_file(unit_ids[i - 1])}'>{_esc(L('previous'))}</a>" if i > 0 else ""
        next_ = f"<a href='{_unit_file(unit_ids[i + 1])}'>{_esc(L('next'))}</a>" if i + 1 < len(unit_ids) else ""
        nav = f"<nav class='pager'><a href='../index.html'>{_esc(L('back_to_index'))}</a>{prev_}{next_}</nav>"
        body = _unit_body(ctx, uid, name, row, "../")
        (ctx.folder / "units" / _unit_file(uid)).write_text(
            _page(f"{name} · {ctx.title}", nav + body, lang, ctx.footer), encoding="utf-8")
        book.append(f"<section class='page' id='u{_slug(uid)}'>{body}</section>")
    toc = "".join(f"<a href='#u{_slug(u)}'>{_esc(names.get(u, u))}</a>" for u in unit_ids)
    nav = f"<nav class='toc'><a href='../index.html'>{_esc(L('back_to_index'))}</a>{toc}</nav>"
    (ctx.folder / "units" / "book.html").write_text(
        _page(f"{ctx.title} · {L('units_page')}", nav + "".join(book), lang, ctx.footer), encoding="utf-8")
