"""Maps and the HTML report of an audit folder, in Chinese or English.

:func:`write_maps_and_report` (called by :func:`geoplan.outputs.write_audit`)
writes, beside the tables and the GeoPackage::

    index.html                  the report (geoplan.presenters.pages): page one (targets,
                                headline figures, one map, units, what to do), a chapter
                                per analysis, the appendix in plain words
    units/<unit_id>.html        one page per unit ("one map, one page"), printable on A4
    units/book.html             every unit page in one printable file
    map.html                    the interactive map (opens offline, every asset inlined)
    maps/park_coverage_A4.png   print map, A4 landscape, 300 dpi; also _A4.pdf, _A3.png, _A3.pdf (vector PDFs)
    maps/units/<unit_id>.png    each unit's map, A4 (and its .pdf)
    maps/<analysis>_A4.png      each further analysis' map (A4 and A3, PNG and PDF)
                                the pages link every one of these files (PageContext.print_links)

Every page is self-contained HTML (inline CSS, no script, no web font), so the
folder can be zipped, mailed and opened offline.  Every label, legend, table
header and sentence follows ``lang``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import presenters
from .i18n import label, text
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
from .presenters import pages
from .presenters.html import Col, auto_table, html_table
from .presenters.html import fmt_pct as _pct

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
    ctx = pages.make_context(result, folder, lang, summary=summary, tables=tables, status=coverage_status(result.parks),
                             labels=presenters.labels(result) if labels is None else labels, unit_pages=unit_pages)
    (folder / "maps").mkdir(exist_ok=True)
    unit_ids = list(result.study.units["unit_id"]) if unit_pages else []

    say(text("report.step_print_maps", lang, n=len(unit_ids)) if unit_ids else text("report.step_print_maps_only", lang))
    t = time.perf_counter()
    jobs = _print_map_jobs(ctx) + _unit_map_jobs(ctx, unit_ids)
    timings["map layers"] = time.perf_counter() - t
    ctx.map_files = tuple(j.rel for j in jobs)  # the unit pages, written while the maps are drawn, link them all
    with MapRenderer(jobs, workers=workers, quiet=quiet, desc=label("maps", lang)) as renderer:
        say(text("report.step_interactive", lang))
        t = time.perf_counter()
        _interactive(ctx)
        timings["interactive map"] = time.perf_counter() - t
        if unit_ids:
            say(text("report.step_unit_pages", lang, n=len(unit_ids)))
            t = time.perf_counter()
            pages.write_unit_pages(ctx, unit_ids)
            timings["unit pages"] = time.perf_counter() - t
        t = time.perf_counter()
        drawn = renderer.wait()
        timings["waiting for the static maps"] = time.perf_counter() - t
    ctx.maps = {j.key: j.rel for j in jobs if j.key and j.rel in drawn}
    ctx.map_files = tuple(r for r in ctx.map_files if r in drawn)  # the index links the maps drawn
    say(text("report.step_index", lang))
    t = time.perf_counter()
    pages.write_index(ctx)
    timings["index"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    timings["static maps (sum over workers)"] = renderer.busy_s
    for k, v in timings.items():
        result.timings[f"report: {k}"] = round(v, 3)
    return timings


# ---------------------------------------------------------------------------- maps
# What each map shows and how it is drawn: geoplan.presenters.audit_maps.
def _interactive(ctx: pages.PageContext) -> None:
    write_interactive_map(ctx.result, ctx.folder, ctx.lang, title=ctx.title, status=ctx.status)


def _print_map_jobs(ctx: pages.PageContext) -> list[MapJob]:
    return print_map_jobs(ctx.result, ctx.folder, ctx.lang, area_name=ctx.area_name)


def _unit_map_jobs(ctx: pages.PageContext, unit_ids: list) -> list[MapJob]:
    if not unit_ids:
        return []
    L = ctx.L
    piv = pages.unit_table(ctx).set_index("unit_id", drop=False)
    subtitles = {uid: f"{L('land_covered')}: " + " · ".join(
        f"{L(m)} {_pct(piv.loc[uid].get(f'land_pct:{m}'))} %" for m in ctx.result.parks.methods) for uid in unit_ids}
    return unit_map_jobs(ctx.result, ctx.folder, ctx.lang, unit_ids, subtitles=subtitles, status=ctx.status)
